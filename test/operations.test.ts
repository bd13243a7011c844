/**
 * Operating a hub (issue 10): /metrics, `runlog --version`, the access log of `runlog server`,
 * and the whole hub (API, SSE, /healthz, /metrics, the UI) under --base-path behind a proxy.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFile, resolveHubConfig } from '../src/core/config.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import { newTokenSecret, sha256 } from '../src/server/auth/tokens.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { CLI, ROOT, cli, getJson, hubOn, startHubProcess, tempDir, waitFor } from './helpers.js';
import { CHROMIUM, launchBrowser } from './e2e/browser.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const line = (seq: number, message: string) => ({ seq, timestamp: Date.now() * 1000, level: 'INFO', message });

/** the value of one sample (`name{labels} value`) in a Prometheus text page */
function sample(page: string, name: string): number | undefined {
  const found = page.split('\n').find((row) => row.startsWith(`${name} `));
  return found === undefined ? undefined : Number(found.slice(name.length + 1));
}

describe('GET /metrics', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => {
    await hub.close();
  });

  it('says 0 lines and bytes of each kind before the first line (a counter absent until then makes rate() and alerts on it see no data)', async () => {
    const fresh = await hubOn(tempDir());
    try {
      const page = await (await fetch(`${fresh.url}/metrics`)).text();
      for (const kind of ['run', 'worker', 'service']) {
        expect(sample(page, `runlog_lines_ingested_total{kind="${kind}"}`)).toBe(0);
        expect(sample(page, `runlog_bytes_ingested_total{kind="${kind}"}`)).toBe(0);
      }
    } finally {
      await fresh.close();
    }
  });

  it('counts lines and bytes by kind of stream, SSE clients, workers, runs and the queue, in Prometheus text', async () => {
    await fetch(`${hub.url}/api/runs`, json({ id: 'm-run' }));
    await fetch(`${hub.url}/api/runs/m-run/logs`, json({ records: [line(1, 'héllo'), line(2, 'world')] }));
    await fetch(`${hub.url}/api/runs/m-run/logs`, json({ records: [line(2, 'world')] })); // resent: not counted twice
    await fetch(`${hub.url}/api/workers/w-1/heartbeat`, json({ status: 'idle', logs: [line(1, 'worker line')] }));
    await fetch(`${hub.url}/v1/logs`, json({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'svc' } }] }] }] }));
    await fetch(`${hub.url}/api/tasks`, json({ command: ['true'] }));
    const sse = new AbortController();
    const stream = await fetch(`${hub.url}/api/runs/m-run/logs/stream`, { signal: sse.signal });
    expect(stream.status).toBe(200);
    try {
      const response = await fetch(`${hub.url}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const page = await response.text();
      expect(sample(page, 'runlog_lines_ingested_total{kind="run"}')).toBe(2);
      expect(sample(page, 'runlog_bytes_ingested_total{kind="run"}')).toBe(Buffer.byteLength('héllo') + 5);
      expect(sample(page, 'runlog_lines_ingested_total{kind="worker"}')).toBe(1);
      expect(sample(page, 'runlog_lines_ingested_total{kind="service"}')).toBe(1);
      expect(sample(page, 'runlog_store_write_seconds_count')).toBeGreaterThanOrEqual(4);
      expect(sample(page, 'runlog_sse_clients')).toBe(1);
      expect(sample(page, 'runlog_workers{status="active"}')).toBe(1);
      expect(sample(page, 'runlog_runs{status="running"}')).toBe(2); // m-run and the service's stream
      expect(sample(page, 'runlog_runs{status="queued"}')).toBe(1);
      expect(sample(page, 'runlog_queue_depth')).toBe(1);
      expect(page).toContain('process_cpu_seconds_total');
    } finally {
      sse.abort();
    }
  });
});

describe('process CPU in GET /metrics', () => {
  it("counts the hub process's CPU since it started, not since the first scrape", async () => {
    const hub = await startHubProcess(['--data', tempDir()]);
    try {
      // utime + stime (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s) before the first scrape
      const fields = readFileSync(`/proc/${hub.child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      const usedBefore = (Number(fields[11]) + Number(fields[12])) / 100;
      expect(usedBefore).toBeGreaterThan(0.05); // a node process that opened its store: well past it
      const page = await (await fetch(`${hub.url}/metrics`)).text();
      expect(sample(page, 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(usedBefore - 0.02);
    } finally {
      hub.child.kill();
    }
  });
});

describe('runlog --version', () => {
  it("prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await cli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

/** `runlog server` on an ephemeral port; resolves with its URL once it listens. */
async function serverProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', '--data', tempDir(), ...args], {
    env: { ...process.env, RUNLOG_ACCESS_LOG: '', RUNLOG_BASE_PATH: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await waitFor(() => /listening on (\S+)/.exec(stdout)?.[1], 20_000, 'runlog server to listen');
  const stop = () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('close', () => resolve()), child.kill('SIGTERM'))));
  return { url, stop, stderr: () => stderr };
}

describe('the access log of runlog server', () => {
  it('writes one line per request on stderr: time, method, route pattern, status, ms; a live stream when it closes (here under RUNLOG_BASE_PATH)', async () => {
    const server = await serverProcess([], { RUNLOG_BASE_PATH: '/runlog' });
    try {
      expect(server.url).toMatch(/\/runlog$/);
      await fetch(`${server.url}/api/runs/no-such-run`);
      await fetch(`${server.url}/api/runs`, json({ id: 'acc-1' }));
      await fetch(`${new URL(server.url).origin}/nowhere/rl_pasted-token?secret=1`);
      // a live stream, closed by its client: logged when it closes
      const sse = new AbortController();
      const stream = await fetch(`${server.url}/api/runs/acc-1/logs/stream`, { signal: sse.signal });
      await stream.body!.getReader().read();
      sse.abort();
      const lines = await waitFor(() => {
        const found = server.stderr().split('\n').filter((row) => row !== '');
        return found.length >= 4 ? found : undefined;
      }, 10_000, 'four access log lines');
      expect(lines).toHaveLength(4);
      expect(lines[3]).toMatch(/ GET \/runlog\/api\/runs\/:id\/logs\/stream 200 \d+\.\dms$/);
      expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z GET \/runlog\/api\/runs\/:id 404 \d+\.\dms$/);
      expect(lines[1]).toMatch(/ POST \/runlog\/api\/runs 201 \d+\.\dms$/);
      // no route matched: its first segment, never the rest (a token pasted there) nor the query string
      expect(lines[2]).toMatch(/ GET \/nowhere\/… 404 \d+\.\dms$/);
      expect(server.stderr()).not.toContain('rl_pasted-token');
    } finally {
      await server.stop();
    }
  });

  it('logs 499 for a request its client gave up before any answer: a ?wait= closed early, an upload cut off', async () => {
    const server = await serverProcess([]);
    try {
      await fetch(`${server.url}/api/runs`, json({ id: 'waited-on' }));
      const gaveUp = new AbortController();
      const waiting = fetch(`${server.url}/api/runs/waited-on/response?wait=30`, { signal: gaveUp.signal }).catch(() => undefined);
      setTimeout(() => gaveUp.abort(), 300);
      await waiting;
      // a body announced as 1,000 bytes, 20 sent, then the connection closed
      const { port } = new URL(server.url);
      await new Promise<void>((resolve) => {
        const upload = httpRequest({ port, method: 'POST', path: '/api/runs/waited-on/logs', headers: { 'content-type': 'application/json', 'content-length': '1000' } });
        upload.on('error', () => resolve());
        upload.write('{"records": [{"seq":');
        setTimeout(() => (upload.destroy(), resolve()), 300);
      });
      const lines = await waitFor(() => {
        const found = server.stderr().split('\n').filter((row) => row !== '');
        return found.length >= 3 ? found : undefined;
      }, 10_000, 'three access log lines');
      expect(lines[1]).toMatch(/ GET \/api\/runs\/:id\/response 499 \d+\.\dms$/);
      expect(lines[2]).toMatch(/ POST \/api\/runs\/:id\/logs 499 \d+\.\dms$/);
      // the cut upload is no bad HTTP: no `- /… 400` line for it (the parser's end-of-stream error)
      expect(server.stderr()).not.toContain(' - /… ');
    } finally {
      await server.stop();
    }
  });

  it('is off with --no-access-log and with RUNLOG_ACCESS_LOG=0', async () => {
    for (const [args, env] of [[['--no-access-log'], {}], [[], { RUNLOG_ACCESS_LOG: '0' }]] as const) {
      const server = await serverProcess([...args], env);
      try {
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      } finally {
        await server.stop();
      }
      expect(server.stderr()).toBe('');
    }
  });
});

/**
 * A reverse proxy as nginx's `location /runlog/ { proxy_pass http://hub; }`: the path is passed
 * on as it is, responses streamed back (SSE included).
 */
function proxyTo(target: string): Promise<{ url: string; server: Server }> {
  const upstream = new URL(target);
  const server = createServer((request, response) => {
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: { ...request.headers, host: upstream.host } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    resolve({ url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, server });
  }));
}

describe('--base-path: the hub under /runlog behind a reverse proxy', () => {
  let hub: RunningHub;
  let proxy: { url: string; server: Server };
  beforeAll(async () => {
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), ssePingMs: 1000, basePath: '/runlog/' });
    proxy = await proxyTo(hub.url);
  });
  afterAll(async () => {
    proxy.server.closeAllConnections();
    proxy.server.close();
    await hub.close();
  });

  it('keeps the session cookie to the path', async () => {
    const dir = tempDir();
    const store = new SqliteStore(databaseFile(dir));
    const secret = newTokenSecret();
    await store.createToken({ name: 'ui', hash: sha256(secret), scopes: ['read'], worker_id: null, expires_at: null, created_by: null });
    const app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir: dir, basePath: '/runlog' }) });
    try {
      const answer = await app.inject({ method: 'POST', url: '/runlog/api/session', payload: { token: secret } });
      expect(answer.statusCode).toBe(200);
      expect(String(answer.headers['set-cookie'])).toContain('; Path=/runlog;');
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('says its URL with the path', () => {
    expect(hub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/runlog$/);
  });

  it('serves the API, SSE, /healthz, /metrics and the UI under the path, and nothing at the root', async () => {
    const base = `${proxy.url}/runlog`;
    expect((await fetch(`${base}/api/runs`, json({ id: 'bp-1' }))).status).toBe(201);
    expect((await fetch(`${base}/api/runs/bp-1/text`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'under a path\n' })).status).toBe(200);
    expect((await getJson<{ logs: { message: string }[] }>(`${base}/api/runs/bp-1/logs`)).body.logs.map((l) => l.message)).toEqual(['under a path']);
    expect((await getJson(`${base}/healthz`)).body).toMatchObject({ ok: true });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('runlog_lines_ingested_total{kind="run"} 1');

    const sse = new AbortController();
    const stream = await fetch(`${base}/api/runs/bp-1/logs/stream`, { signal: sse.signal });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('under a path')) text += new TextDecoder().decode((await reader.read()).value);
    sse.abort();

    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\.\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2); // the script and the stylesheet, relative
    for (const asset of assets) expect((await fetch(new URL(asset, `${base}/`))).status).toBe(200);
    // /runlog without the slash: sent to /runlog/, where the UI's relative URLs resolve under the path
    const bare = await fetch(base, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(new URL(bare.headers.get('location')!, base).href).toBe(`${base}/`);

    expect((await fetch(`${proxy.url}/api/runs`)).status).toBe(404);
    expect((await fetch(`${proxy.url}/healthz`)).status).toBe(404);
  });

  it('shows the runs, an OpenTelemetry service stream among them, and the lines of a run in a real browser under the path (chromium)', async () => {
    if (!existsSync(CHROMIUM)) {
      if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`${CHROMIUM} not found (strict mode: not skipping)`);
      console.warn(`${CHROMIUM} not found: skipping the browser check under --base-path`);
      return;
    }
    await fetch(`${proxy.url}/runlog/api/runs`, json({ id: 'bp-browser', name: 'seen through the proxy' }));
    await fetch(`${proxy.url}/runlog/api/runs/bp-browser/text`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a line under /runlog\n' });
    // an OpenTelemetry service's own stream is a run like the others
    await fetch(`${proxy.url}/runlog/v1/logs`, json({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'billing api' } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'charged' } }] }] }] }));
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${proxy.url}/runlog/`);
      await page.getByText('seen through the proxy').first().waitFor({ timeout: 20_000 });
      await page.getByText('svc-billing-api').first().waitFor({ timeout: 20_000 });
      await page.goto(`${proxy.url}/runlog/#/runs/bp-browser`);
      await page.getByText('a line under /runlog').first().waitFor({ timeout: 20_000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
