/**
 * Issue 8: a hub a team can expose. Real hubs on loopback, real HTTP, the real CLI: every route
 * behind its scope, the outsider's attacks from the issue refused, only the writer writes, task
 * secrets sealed, browser defences (Host, Origin), tokens made and revoked from the CLI.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseFile, resolveHubConfig } from '../src/core/config.js';
import { allows, type Scope } from '../src/core/scopes.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import { routeList } from '../src/server/auth/guard.js';
import { newTokenSecret, sha256 } from '../src/server/auth/tokens.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { CLI, cli, tempDir, waitFor } from './helpers.js';

interface Hub {
  url: string;
  dir: string;
  store: SqliteStore;
  app: FastifyInstance;
  audit: string[];
  tokens: Record<string, string>;
}

const TOKENS: { name: string; scopes: Scope[]; worker_id?: string }[] = [
  { name: 'reader', scopes: ['read'] },
  { name: 'writer', scopes: ['write'] },
  { name: 'w1', scopes: ['worker'], worker_id: 'w1' },
  { name: 'w2', scopes: ['worker'], worker_id: 'w2' },
  { name: 'submitter', scopes: ['submit'] },
  { name: 'admin', scopes: ['admin'] },
];

let hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs) {
    await hub.app.close().catch(() => {});
    await hub.store.close().catch(() => {});
  }
  hubs = [];
});

/** A hub on 127.0.0.1 with the tokens above (or none), its audit lines collected. */
async function startHub({ withTokens = true } = {}): Promise<Hub> {
  const dir = tempDir('runlog-auth-');
  const store = new SqliteStore(databaseFile(dir));
  const tokens: Record<string, string> = {};
  if (withTokens) {
    for (const spec of TOKENS) {
      const secret = newTokenSecret();
      tokens[spec.name] = secret;
      await store.createToken({ name: spec.name, hash: sha256(secret), scopes: spec.scopes, worker_id: spec.worker_id ?? null, expires_at: null, created_by: null });
    }
  }
  const audit: string[] = [];
  const config = resolveHubConfig({ host: '127.0.0.1', port: 0, dataDir: dir, ssePingMs: 1000 });
  const app = buildApp({ store, live: new LiveFanout(), config, audit: (event, fields) => audit.push(`${event} ${JSON.stringify(fields)}`) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  const hub = { url: `http://127.0.0.1:${address.port}`, dir, store, app, audit, tokens };
  hubs.push(hub);
  return hub;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(hub: Hub, method: string, path: string, { token, body, headers = {} }: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(`${hub.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${hub.tokens[token] ?? token}` }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = response.headers.get('content-type')?.includes('text/event-stream') ? '' : await response.text();
  if (response.body && !response.bodyUsed) await response.body.cancel();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    // not JSON (the UI, a download)
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** fetch cannot set Host: a raw request can, as a rebinding browser would send it. */
function withHost(hub: Hub, path: string, host: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${hub.url}${path}`, { headers: { host, ...(token ? { authorization: `Bearer ${hub.tokens[token]}` } : {}) } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

const line = (seq: number) => ({ seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', message: `line ${seq}` });

describe('a hub with tokens', () => {
  let hub: Hub;
  beforeEach(async () => {
    hub = await startHub();
  });

  it('sends every route through its declared scope: 401 without a token, 403 naming the scope without it, through with it', async () => {
    const routes = routeList(hub.app).filter((route) => route.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) expect(route.scope, `${route.method} ${route.url}`).toBeDefined();
    const checked: string[] = [];
    for (const route of routes) {
      if (route.scope === 'public') continue;
      const path = route.url.replace(/:id|:name/g, 'nothing-here').replace('*', 'index.html');
      const anonymous = await call(hub, route.method, path, { body: route.method === 'GET' || route.method === 'DELETE' ? undefined : {} });
      expect(anonymous.status, `${route.method} ${route.url} without a token`).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
      for (const spec of TOKENS) {
        const answer = await call(hub, route.method, path, { token: spec.name, body: route.method === 'GET' || route.method === 'DELETE' ? undefined : {} });
        const what = `${route.method} ${route.url} with ${spec.scopes.join(',')}`;
        // a worker token writes the runs of tasks it claimed, but creating a new run needs `write`
        const creatingAsWorker = route.method === 'POST' && route.url === '/api/runs' && !spec.scopes.includes('write') && !spec.scopes.includes('admin');
        if (allows(new Set(spec.scopes), route.scope!) && !creatingAsWorker) {
          expect([401, 403].includes(answer.status) && answer.body.error === 'MISSING_SCOPE', what).toBe(false);
          expect(answer.status, what).toBeLessThan(500);
        } else {
          expect(answer.status, what).toBe(403);
          expect(answer.body.error, what).toBe('MISSING_SCOPE');
          expect(String(answer.body.message), what).toMatch(/needs the .* scope/);
        }
      }
      checked.push(`${route.method} ${route.url}`);
    }
    expect(checked).toEqual(expect.arrayContaining(['POST /api/tasks', 'POST /api/tasks/claim', 'POST /api/cleanup', 'GET /api/runs/:id/logs/stream', 'POST /api/tokens']));
    // the health check and the UI stay public
    expect((await call(hub, 'GET', '/healthz')).status).toBe(200);
    expect((await call(hub, 'GET', '/api/session')).body).toMatchObject({ auth_required: true, signed_in: false });
  });

  it('lets an outsider do none of the things the issue found', async () => {
    // run anything on every worker
    expect((await call(hub, 'POST', '/api/tasks', { body: { command: ['/bin/sh', '-c', 'id > /tmp/pwned'] } })).status).toBe(401);
    expect((await call(hub, 'POST', '/api/tasks', { token: 'reader', body: { command: ['/bin/sh', '-c', 'id'] } })).status).toBe(403);
    // claim a task (and read its env)
    expect((await call(hub, 'POST', '/api/tasks/claim', { body: { worker_id: 'w1' } })).status).toBe(401);
    // delete every ended run
    expect((await call(hub, 'POST', '/api/cleanup', { body: { runs_older_than: '1ms' } })).status).toBe(401);
    expect((await call(hub, 'POST', '/api/cleanup', { token: 'writer', body: { runs_older_than: '1ms' } })).status).toBe(403);
    // fail another worker's task by saying it is offline
    expect((await call(hub, 'POST', '/api/workers/w1/heartbeat', { body: { status: 'offline' } })).status).toBe(401);
    // release a running task from a web page: cross-origin, no body
    expect((await call(hub, 'POST', '/api/tasks/x/release', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    // DNS rebinding
    const rebound = await withHost(hub, '/api/runs', 'evil.example', 'reader');
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error).toBe('HOST_NOT_ALLOWED');
    expect((await withHost(hub, '/api/runs', `localhost:${new URL(hub.url).port}`, 'reader')).status).toBe(200);
    // a revoked or made-up token
    expect((await call(hub, 'GET', '/api/runs', { token: 'rl_made_up' })).status).toBe(401);
    expect((await call(hub, 'GET', '/api/runs', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
  });

  it('keeps a run to its writer: lines and end need its key and token, an ended run takes no lines, create cannot end a run', async () => {
    const key = { 'x-runlog-writer': 'key-of-the-runner' };
    expect((await call(hub, 'POST', '/api/runs', { token: 'writer', headers: key, body: { id: 'mine' } })).status).toBe(201);
    // the writer's own retry of the create is fine; anyone else's is a conflict
    expect((await call(hub, 'POST', '/api/runs', { token: 'writer', headers: key, body: { id: 'mine' } })).status).toBe(200);
    expect((await call(hub, 'POST', '/api/runs', { token: 'writer', headers: { 'x-runlog-writer': 'other' }, body: { id: 'mine' } })).status).toBe(409);
    expect((await call(hub, 'POST', '/api/runs', { token: 'admin', body: { id: 'mine' } })).status).toBe(409);
    // lines: the writer's key is needed
    expect((await call(hub, 'POST', '/api/runs/mine/logs', { token: 'writer', headers: key, body: { records: [line(1)] } })).status).toBe(200);
    const stranger = await call(hub, 'POST', '/api/runs/mine/logs', { token: 'writer', headers: { 'x-runlog-writer': 'guess' }, body: { records: [line(2)] } });
    expect(stranger.status).toBe(403);
    expect(stranger.body.error).toBe('NOT_THE_WRITER');
    expect((await call(hub, 'POST', '/api/runs/mine/logs', { token: 'writer', body: { records: [line(2)] } })).status).toBe(403);
    // the create route cannot set an end status
    const ended = await call(hub, 'POST', '/api/runs', { token: 'writer', headers: key, body: { id: 'mine', status: 'completed' } });
    expect(ended.status).toBe(400);
    expect(ended.body.field).toBe('status');
    expect((await call(hub, 'POST', '/api/runs/mine/finish', { token: 'writer', body: { status: 'completed' } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/runs/mine/finish', { token: 'writer', headers: key, body: { status: 'completed', exit_code: 0 } })).status).toBe(200);
    const late = await call(hub, 'POST', '/api/runs/mine/logs', { token: 'writer', headers: key, body: { records: [line(3)] } });
    expect(late.status).toBe(409);
    const stored = await call(hub, 'GET', '/api/runs/mine/logs', { token: 'reader' });
    expect((stored.body.logs as { seq: number }[]).map((record) => record.seq)).toEqual([1]);
    expect((await call(hub, 'GET', '/api/runs/mine', { token: 'reader' })).body).toMatchObject({ status: 'completed', exit_code: 0 });
  });

  it('binds a worker token to its worker: w1 cannot beat, claim or end as w2', async () => {
    expect((await call(hub, 'POST', '/api/workers/w2/heartbeat', { token: 'w1', body: { status: 'offline' } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/workers/w1/heartbeat', { token: 'w1', body: { status: 'idle' } })).status).toBe(200);
    expect((await call(hub, 'POST', '/api/tasks', { token: 'submitter', body: { id: 't1', command: ['echo', 'hi'] } })).status).toBe(201);
    expect((await call(hub, 'POST', '/api/tasks/claim', { token: 'w1', body: { worker_id: 'w2' } })).status).toBe(403);
    const claim = await call(hub, 'POST', '/api/tasks/claim', { token: 'w2', body: { worker_id: 'w2' } });
    expect(claim.status).toBe(200);
    const writerKey = claim.body.writer_key as string;
    expect(writerKey).toMatch(/^[\w-]{16,}$/);
    // w1 cannot write, hand back or end w2's task, even with the key
    const asW1 = { token: 'w1', headers: { 'x-runlog-writer': writerKey } };
    expect((await call(hub, 'POST', '/api/runs/t1/logs', { ...asW1, body: { records: [line(1)] } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/runs/t1/finish', { ...asW1, body: { status: 'failed' } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/tasks/t1/release', { ...asW1, body: { worker_id: 'w2' } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/tasks/t1/release', { ...asW1, body: { worker_id: 'w1' } })).status).toBe(409);
    // a release must name the worker, in a JSON body
    expect((await call(hub, 'POST', '/api/tasks/t1/release', { token: 'w2', headers: { 'x-runlog-writer': writerKey } })).status).toBe(400);
    const asW2 = { token: 'w2', headers: { 'x-runlog-writer': writerKey } };
    expect((await call(hub, 'POST', '/api/runs/t1/logs', { ...asW2, body: { records: [line(1)] } })).status).toBe(200);
    expect((await call(hub, 'POST', '/api/tasks/t1/release', { ...asW2, body: { worker_id: 'w2' } })).status).toBe(200);
    // claimed again: the first attempt's key no longer writes the run
    const again = await call(hub, 'POST', '/api/tasks/claim', { token: 'w2', body: { worker_id: 'w2' } });
    expect(again.body.writer_key).not.toBe(writerKey);
    expect((await call(hub, 'POST', '/api/runs/t1/logs', { ...asW2, body: { records: [line(2)] } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/runs/t1/logs', { token: 'w2', headers: { 'x-runlog-writer': again.body.writer_key as string }, body: { records: [line(2)] } })).status).toBe(200);
  });

  it('gives a task’s env to the claiming worker only: masked in every answer, sealed in the database file', async () => {
    const secret = 'hf_SECRET_value_0123456789';
    const submitted = await call(hub, 'POST', '/api/tasks', { token: 'submitter', body: { id: 'gpu-job', command: ['python3', 'train.py'], env: { HF_TOKEN: secret } } });
    expect(submitted.status).toBe(201);
    const reads = [
      await call(hub, 'GET', '/api/runs', { token: 'admin' }),
      await call(hub, 'GET', '/api/runs/gpu-job', { token: 'admin' }),
      submitted,
    ];
    for (const answer of reads) expect(JSON.stringify(answer.body)).not.toContain(secret);
    const db = readFileSync(databaseFile(hub.dir));
    const wal = (() => {
      try {
        return readFileSync(`${databaseFile(hub.dir)}-wal`);
      } catch {
        return Buffer.alloc(0);
      }
    })();
    expect(db.includes(secret) || wal.includes(secret)).toBe(false);
    expect(statSync(join(hub.dir, 'secret.key')).mode & 0o777).toBe(0o600);
    const claim = await call(hub, 'POST', '/api/tasks/claim', { token: 'w1', body: { worker_id: 'w1' } });
    expect((claim.body.spec as { env: Record<string, string> }).env).toEqual({ HF_TOKEN: secret });
  });

  it('writes token, cleanup and submission events to the audit log with the token’s name, never a secret', async () => {
    const created = await call(hub, 'POST', '/api/tokens', { token: 'admin', body: { name: 'ci', scopes: ['write', 'read'], expires: '90d' } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^rl_/);
    await call(hub, 'POST', '/api/cleanup', { token: 'admin', body: {} });
    await call(hub, 'POST', '/api/tasks', { token: 'submitter', body: { command: ['true'], env: { K: 'v-secret' } } });
    expect((await call(hub, 'DELETE', '/api/tokens/ci', { token: 'admin' })).status).toBe(200);
    const events = hub.audit.join('\n');
    expect(events).toMatch(/token\.create .*"name":"ci".*"by":"admin"/);
    expect(events).toMatch(/cleanup .*"by":"admin"/);
    expect(events).toMatch(/task\.submit .*"by":"submitter"/);
    expect(events).toMatch(/token\.revoke .*"name":"ci".*"by":"admin"/);
    expect(events).not.toContain(String(created.body.token));
    expect(events).not.toContain('v-secret');
    // the list never shows a secret or its hash
    const list = await call(hub, 'GET', '/api/tokens', { token: 'admin' });
    expect(JSON.stringify(list.body)).not.toMatch(/rl_|"hash"/);
    // revoked: refused from now on
    expect((await call(hub, 'GET', '/api/runs', { token: String(created.body.token) })).status).toBe(401);
  });

  it('signs the web UI in with a session cookie that live streams carry, refuses it cross-origin, and ends it on sign-out or revocation', async () => {
    const signIn = await call(hub, 'POST', '/api/session', { body: { token: hub.tokens.reader }, headers: { origin: hub.url } });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^runlog_session=[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain(hub.tokens.reader);
    const cookie = setCookie.split(';')[0] as string;
    expect((await call(hub, 'GET', '/api/session', { headers: { cookie } })).body).toMatchObject({ signed_in: true, name: 'reader', scopes: ['read'] });
    expect((await call(hub, 'GET', '/api/runs', { headers: { cookie } })).status).toBe(200);
    const stream = await fetch(`${hub.url}/api/events`, { headers: { cookie }, signal: AbortSignal.timeout(3000) });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    await stream.body?.cancel();
    // state changes with the cookie: only from the hub's own origin
    expect((await call(hub, 'POST', '/api/tasks/x/release', { headers: { cookie }, body: { worker_id: 'w1' } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/tasks/x/release', { headers: { cookie, origin: 'http://127.0.0.1:1' }, body: { worker_id: 'w1' } })).status).toBe(403);
    await call(hub, 'DELETE', '/api/session', { headers: { cookie, origin: hub.url } });
    expect((await call(hub, 'GET', '/api/runs', { headers: { cookie } })).status).toBe(401);
    // revoking the token ends its sessions
    const again = (await call(hub, 'POST', '/api/session', { body: { token: hub.tokens.reader } })).headers.get('set-cookie')!.split(';')[0] as string;
    expect((await call(hub, 'GET', '/api/runs', { headers: { cookie: again } })).status).toBe(200);
    await call(hub, 'DELETE', '/api/tokens/reader', { token: 'admin' });
    expect((await call(hub, 'GET', '/api/runs', { headers: { cookie: again } })).status).toBe(401);
    expect((await call(hub, 'POST', '/api/session', { body: { token: 'rl_wrong' } })).status).toBe(401);
    // a token that cannot read signs in to nothing: refused, saying why
    const workerOnly = await call(hub, 'POST', '/api/session', { body: { token: hub.tokens.w1 } });
    expect(workerOnly.status).toBe(403);
    expect(JSON.stringify(workerOnly.body)).toContain('no read scope');
  });

  it('answers with a CSP without inline script, frame-ancestors none, nosniff and no-referrer', async () => {
    for (const path of ['/healthz', '/api/session', '/']) {
      const answer = await call(hub, 'GET', path);
      const csp = answer.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});

describe('a hub without tokens', () => {
  it('serves loopback openly but still refuses foreign hosts and cross-origin state changes', async () => {
    const hub = await startHub({ withTokens: false });
    expect((await call(hub, 'GET', '/api/runs')).status).toBe(200);
    expect((await withHost(hub, '/api/runs', 'evil.example:80')).status).toBe(403);
    expect((await withHost(hub, '/', 'evil.example')).status).toBe(403);
    expect((await withHost(hub, '/api/runs', 'localhost')).status).toBe(200);
    expect((await withHost(hub, '/api/runs', '[::1]:7070')).status).toBe(200);
    expect((await call(hub, 'POST', '/api/tasks', { body: { command: ['true'] } })).status).toBe(201);
    expect((await call(hub, 'POST', '/api/tasks/x/release', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/tasks', { headers: { origin: 'http://127.0.0.1:9' }, body: { command: ['true'] } })).status).toBe(403);
    expect((await call(hub, 'POST', '/api/tasks', { headers: { origin: hub.url }, body: { command: ['true'] } })).status).toBe(201);
    expect((await call(hub, 'GET', '/api/session')).body).toMatchObject({ auth_required: false });
  });

  it('refuses to listen beyond loopback, exit 2, naming the command that makes a token; starts once one exists', async () => {
    const dir = tempDir('runlog-auth-');
    const refused = await cli(['server', '--host', '0.0.0.0', '--port', '0', '--data', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('runlog token create');
    const made = await cli(['token', 'create', 'admin', '--scope', 'admin', '--hub', 'none', '--data', dir]);
    expect(made.code).toBe(0);
    const secret = made.stdout.trim();
    expect(secret).toMatch(/^rl_[\w-]{40,}$/);
    expect(made.stderr).not.toContain(secret);
    const server = spawn(process.execPath, [CLI, 'server', '--host', '0.0.0.0', '--port', '0', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      server.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const port = await waitFor(() => /:(\d+) /.exec(out)?.[1], 20_000, 'the hub to listen');
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/api/runs`)).status).toBe(401);
      expect((await fetch(`${base}/api/runs`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    } finally {
      server.kill('SIGTERM');
    }
  });
});

describe('tokens from the CLI', () => {
  it('creates, lists (never the secret) and revokes tokens on the local store, keeping only hashes', async () => {
    const dir = tempDir('runlog-auth-');
    const worker = await cli(['token', 'create', 'gpu-1', '--scope', 'worker', '--worker', 'gpu-1', '--expires', '90d', '--hub', 'none', '--data', dir]);
    expect(worker.code).toBe(0);
    const secret = worker.stdout.trim();
    const bad = await cli(['token', 'create', 'x', '--scope', 'worker', '--hub', 'none', '--data', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--worker');
    expect((await cli(['token', 'create', 'y', '--scope', 'root', '--hub', 'none', '--data', dir])).stderr).toContain('unknown scope');
    const list = await cli(['token', 'list', '--hub', 'none', '--data', dir]);
    expect(list.stdout).toMatch(/NAME\s+SCOPES\s+WORKER\s+CREATED\s+EXPIRES\s+LAST USED/);
    expect(list.stdout).toMatch(/gpu-1\s+worker\s+gpu-1/);
    expect(list.stdout).not.toContain(secret);
    const db = readFileSync(databaseFile(dir));
    expect(db.includes(secret)).toBe(false);
    expect(db.includes(sha256(secret))).toBe(true);
    expect((await cli(['token', 'revoke', 'gpu-1', '--hub', 'none', '--data', dir])).code).toBe(0);
    expect((await cli(['token', 'list', '--hub', 'none', '--data', dir, '--json'])).stdout.trim()).toBe('[]');
  });

  it('runs, reads and follows through a hub with tokens from RUNLOG_TOKEN_FILE, and keeps the token out of the job’s environment', async () => {
    const hub = await startHub();
    const tokenFile = join(hub.dir, 'token');
    writeFileSync(tokenFile, `${hub.tokens.writer}\n`);
    const env = { RUNLOG_TOKEN_FILE: tokenFile };
    const ran = await cli(['run', '--hub', hub.url, '--id', 'tok-run', '--data', hub.dir, '--', '/bin/sh', '-c', 'echo one; env | grep -c RUNLOG_TOKEN || true'], env);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe('one\n0\n');
    const readerFile = join(hub.dir, 'reader');
    writeFileSync(readerFile, hub.tokens.reader!);
    const logs = await cli(['logs', 'tok-run', '--hub', hub.url, '-f'], { RUNLOG_TOKEN_FILE: readerFile });
    expect(logs.stdout).toBe('one\n0\n');
    const noToken = await cli(['runs', '--hub', hub.url]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('token');
    const wrong = await cli(['runs', '--hub', hub.url, '--token', hub.tokens.w1!]);
    expect(wrong.stderr).toContain('needs the read scope');
    // a token the hub does not know is said as such, not as a hub that does not answer
    for (const command of [['runs'], ['workers'], ['logs', 'tok-run']]) {
      const unknown = await cli([...command, '--hub', hub.url], { RUNLOG_TOKEN: 'rl_typo' });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown or revoked token');
      expect(unknown.stderr).not.toContain('does not answer');
    }
  });

  it('runs a worker and a waiting submit on a hub with tokens, each with its own token', async () => {
    const hub = await startHub();
    const made = await call(hub, 'POST', '/api/tokens', { token: 'admin', body: { name: 'me', scopes: 'submit,read' } });
    const files = { worker: join(hub.dir, 'w1.token'), me: join(hub.dir, 'me.token') };
    writeFileSync(files.worker, hub.tokens.w1!);
    writeFileSync(files.me, String(made.body.token));
    const worker = cli(['worker', '--id', 'w1', '--hub', hub.url, '--heartbeat', '1', '--poll', '200ms', '--data', join(hub.dir, 'worker')], { RUNLOG_TOKEN_FILE: files.worker });
    try {
      const submitted = await cli(['submit', '--hub', hub.url, '--wait', '60', '--env', 'SECRET_ENV=s3cret', '--', '/bin/sh', '-c', 'echo "got $SECRET_ENV"; env | grep -c RUNLOG_TOKEN || true'], { RUNLOG_TOKEN_FILE: files.me });
      expect(submitted.code).toBe(0);
      // --wait prints the run's lines as they come, as `logs -f` does (issue 9)
      expect(submitted.stdout).toBe('got s3cret\n0\n');
      const workers = await call(hub, 'GET', '/api/workers', { token: 'reader' });
      expect(workers.body.workers).toEqual([expect.objectContaining({ id: 'w1' })]);
      // the worker token cannot submit
      const refused = await cli(['submit', '--hub', hub.url, '--', 'true'], { RUNLOG_TOKEN_FILE: files.worker });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('needs the submit scope');
    } finally {
      worker.child.kill('SIGTERM');
      await worker;
    }
  });

  it('stops a worker at start, exit 2, when the hub refuses its token: unknown, or bound to another worker', async () => {
    const hub = await startHub();
    const file = join(hub.dir, 'w1.token');
    writeFileSync(file, hub.tokens.w1!);
    for (const [env, why] of [
      [{ RUNLOG_TOKEN: 'rl_not_a_token_the_hub_knows' }, '401'],
      [{ RUNLOG_TOKEN_FILE: file }, '403'],
    ] as const) {
      // w1's token is good, but not for w2
      const worker = await cli(['worker', '--id', 'w2', '--hub', hub.url, '--heartbeat', '1', '--data', join(hub.dir, `worker-${why}`)], env);
      expect(worker.code).toBe(2);
      expect(worker.stderr).toContain(`refuses this worker's token (${why}`);
      expect(worker.stderr).not.toContain('rl_not_a_token_the_hub_knows');
    }
    expect((await call(hub, 'GET', '/api/workers', { token: 'reader' })).body.workers).toEqual([]);
  });

  it('of two `runlog run --id X` started together, exactly one runs its command; the other exits 2 before starting it', async () => {
    const hub = await startHub({ withTokens: false });
    const marker = join(hub.dir, 'ran');
    const start = () => cli(['run', '--hub', hub.url, '--id', 'twin', '--data', hub.dir, '--', '/bin/sh', '-c', `echo x >> ${marker}; for i in $(seq 1 5000); do echo "line $i"; done`]);
    const [a, b] = await Promise.all([start(), start()]);
    expect([a.code, b.code].sort()).toEqual([0, 2]);
    expect((a.code === 2 ? a : b).stderr).toMatch(/twin/);
    expect(readFileSync(marker, 'utf8')).toBe('x\n');
    const stored = await call(hub, 'GET', '/api/runs/twin');
    expect(stored.body).toMatchObject({ status: 'completed', line_count: 5000 });
  });
});
