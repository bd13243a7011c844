/**
 * `runlog logs worker:<id>`: a worker's own lines from the CLI, oldest first, with the flags a
 * run's lines take, through a hub and from the store directly. It used to say "run worker:… not found".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFile } from '../src/core/config.js';
import { newTokenSecret, sha256 } from '../src/server/auth/tokens.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { cli, hubOn, tempDir, waitFor, type CliResult } from './helpers.js';

const T0 = Date.parse('2026-01-02T03:04:05Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

async function beat(hub: RunningHub, worker: string, logs: { timestamp: string; level: string; message: string }[]): Promise<void> {
  const answer = await fetch(`${hub.url}/api/workers/${worker}/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'idle', logs }),
  });
  expect(answer.status).toBe(200);
}

const lines = (result: CliResult) => result.stdout.split('\n').filter((line) => line !== '');

describe('runlog logs worker:<id>', () => {
  let hub: RunningHub;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    hub = await hubOn(dir);
    await beat(hub, 'w-1', [
      { timestamp: at(0), level: 'INFO', message: 'worker w-1 started' },
      { timestamp: at(1), level: 'WARNING', message: 'GPU 0 is warm' },
      { timestamp: at(2), level: 'ERROR', message: 'claim failed: \x1b]0;pwned\x07hub away' },
    ]);
    await beat(hub, 'w-1', [{ timestamp: at(3), level: 'INFO', message: 'claimed task t-9' }]);
    await beat(hub, 'w-other', [{ timestamp: at(1), level: 'ERROR', message: 'another worker' }]);
  });
  afterAll(async () => {
    await hub.close();
  });

  for (const where of ['hub', 'store'] as const) {
    const from = () => (where === 'hub' ? ['--hub', hub.url] : ['--hub', 'none', '--data', dir]);

    it(`prints the worker's lines oldest first, and no other worker's (${where})`, async () => {
      const result = await cli(['logs', 'worker:w-1', ...from()]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      // the title-setting escape is dropped: nothing a worker sent may act on the terminal
      expect(lines(result)).toEqual(['worker w-1 started', 'GPU 0 is warm', 'claim failed: hub away', 'claimed task t-9']);
    });

    it(`takes --tail, --level, --grep, --since, --timestamps and --json (${where})`, async () => {
      expect(lines(await cli(['logs', 'worker:w-1', '--tail', '2', ...from()]))).toEqual(['claim failed: hub away', 'claimed task t-9']);
      expect(lines(await cli(['logs', 'worker:w-1', '--level', 'warning', ...from()]))).toEqual(['GPU 0 is warm', 'claim failed: hub away']);
      expect(lines(await cli(['logs', 'worker:w-1', '--grep', 'CLAIM', '--tail', '1', ...from()]))).toEqual(['claimed task t-9']);
      expect(lines(await cli(['logs', 'worker:w-1', '--since', at(2), ...from()]))).toEqual(['claim failed: hub away', 'claimed task t-9']);
      expect(lines(await cli(['logs', 'worker:w-1', '--tail', '1', '--timestamps', ...from()]))).toEqual([`${at(3).replace('Z', '000Z')} claimed task t-9`]);
      const json = lines(await cli(['logs', 'worker:w-1', '--json', '--level', 'ERROR', ...from()])).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(json).toEqual([expect.objectContaining({ source_id: 'w-1', level: 'ERROR', message: 'claim failed: \x1b]0;pwned\x07hub away', seq: 3 })]);
    });

    it(`says so for a worker it has never heard from (${where})`, async () => {
      const result = await cli(['logs', 'worker:w-nobody', ...from()]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('worker w-nobody not found');
    });

    it(`-f prints stored and live lines in one order, seq, even when a worker's buffered lines carry older times (${where})`, async () => {
      const worker = `w-late-${where}`;
      await beat(hub, worker, [{ timestamp: at(5), level: 'INFO', message: 'sent first' }]);
      await beat(hub, worker, [{ timestamp: at(2), level: 'INFO', message: 'buffered, sent late' }]);
      // without -f: oldest first by time, as documented
      expect(lines(await cli(['logs', `worker:${worker}`, ...from()]))).toEqual(['buffered, sent late', 'sent first']);
      const following = cli(['logs', `worker:${worker}`, '-f', ...from()]);
      let out = '';
      following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      try {
        await waitFor(() => out.includes('sent first') && out.includes('sent late'), 20_000, 'the stored lines');
        await new Promise((resolve) => setTimeout(resolve, 500)); // the stream is open (hub) or the first poll is done (store)
        await beat(hub, worker, [{ timestamp: at(3), level: 'INFO', message: 'live, buffered too' }]);
        await waitFor(() => out.includes('live, buffered too'), 20_000, 'the new line');
        // seq 1, 2, 3: printed by time, the stored lines came 2, 1 and then the live 3
        expect(out.split('\n').filter((line) => line !== '')).toEqual(['sent first', 'buffered, sent late', 'live, buffered too']);
      } finally {
        following.child.kill('SIGTERM');
        await following;
      }
    });

    it(`-f prints the stored lines, then the new ones as they come, once each (${where})`, async () => {
      const worker = `w-f-${where}`;
      await beat(hub, worker, [
        { timestamp: at(0), level: 'INFO', message: 'started' },
        { timestamp: at(3), level: 'INFO', message: 'claimed task t-9' },
      ]);
      const following = cli(['logs', `worker:${worker}`, '-f', '--tail', '1', ...from()]);
      let out = '';
      following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      try {
        await waitFor(() => out.includes('claimed task t-9'), 20_000, 'the stored lines');
        await new Promise((resolve) => setTimeout(resolve, 500)); // the stream is open (hub) or the first poll is done (store)
        const message = `live from ${worker}`;
        await beat(hub, worker, [{ timestamp: new Date().toISOString(), level: 'INFO', message }]);
        await beat(hub, 'w-other', [{ timestamp: new Date().toISOString(), level: 'INFO', message: 'not this worker' }]);
        await waitFor(() => out.includes(message), 20_000, 'the new line');
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(out.split('\n').filter((line) => line !== '')).toEqual(['claimed task t-9', message]);
      } finally {
        following.child.kill('SIGTERM');
        await following;
      }
    });
  }
});

/** A hub (SQLite, SSE pings every 500 ms) with an admin token and a read token named `readerName`. */
async function hubWithTokens(readerName: string) {
  const dir = tempDir();
  const store = new SqliteStore(databaseFile(dir));
  const reader = newTokenSecret();
  const admin = newTokenSecret();
  await store.createToken({ name: readerName, hash: sha256(reader), scopes: ['read'], worker_id: null, expires_at: null, created_by: null });
  await store.createToken({ name: 'admin', hash: sha256(admin), scopes: ['admin'], worker_id: null, expires_at: null, created_by: null });
  await store.close();
  const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: dir, ssePingMs: 500 }, { audit: () => {} });
  const as = (token: string, init: RequestInit = {}) => ({ ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  return { hub, reader, admin, as };
}

describe('runlog logs worker:<id> -f on a hub with tokens', () => {
  it('ends, saying why, when the hub ends the stream because its token was revoked', async () => {
    const { hub, reader, admin, as } = await hubWithTokens('reader');
    try {
      const body = JSON.stringify({ logs: [{ timestamp: new Date().toISOString(), level: 'INFO', message: 'hello' }] });
      expect((await fetch(`${hub.url}/api/workers/w-t/heartbeat`, as(admin, { method: 'POST', body }))).status).toBe(200);
      const following = cli(['logs', 'worker:w-t', '-f', '--hub', hub.url], { RUNLOG_TOKEN: reader });
      let out = '';
      following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => out.includes('hello'), 20_000, 'the stored line');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await fetch(`${hub.url}/api/tokens/reader`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
      const result = await following;
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('token "reader" was revoked (TOKEN_REVOKED)');
    } finally {
      await hub.close();
    }
  });
});

describe('runlog logs <run> -f on a hub with tokens', () => {
  it('ends, saying why, when the hub ends the stream because its token was revoked (not a reconnect into a 401)', async () => {
    const { hub, reader, admin, as } = await hubWithTokens('run-reader');
    try {
      expect((await fetch(`${hub.url}/api/runs`, as(admin, { method: 'POST', body: JSON.stringify({ id: 'watched', status: 'running' }) }))).status).toBe(201);
      const line = { seq: 1, timestamp: new Date().toISOString(), level: 'INFO', message: 'first line' };
      expect((await fetch(`${hub.url}/api/runs/watched/logs`, as(admin, { method: 'POST', body: JSON.stringify({ records: [line] }) }))).status).toBe(200);
      const following = cli(['logs', 'watched', '-f', '--hub', hub.url], { RUNLOG_TOKEN: reader });
      let out = '';
      following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => out.includes('first line'), 20_000, 'the stored line');
      expect((await fetch(`${hub.url}/api/tokens/run-reader`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
      const result = await following;
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('token "run-reader" was revoked (TOKEN_REVOKED)');
    } finally {
      await hub.close();
    }
  });
});

describe('runlog logs worker:<id> -f across a hub restart', () => {
  const now = (message: string) => ({ timestamp: new Date().toISOString(), level: 'INFO', message });

  for (const flags of [['--tail', '1'], ['--level', 'ERROR']]) {
    it(`prints the lines stored while the hub was away, once each, then goes on (${flags.join(' ')})`, async () => {
      const dir = tempDir();
      let hub = await hubOn(dir);
      const port = Number(new URL(hub.url).port);
      await beat(hub, 'w-r', [now('stored before')]);
      const following = cli(['logs', 'worker:w-r', '-f', ...flags, '--hub', hub.url, '--json']);
      let out = '';
      following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const messages = () => lines({ code: 0, stdout: out, stderr: '' }).map((line) => (JSON.parse(line) as { message: string }).message);
      const level = flags[0] === '--level' ? 'ERROR' : 'INFO';
      try {
        if (level === 'INFO') await waitFor(() => out.includes('stored before'), 20_000, 'the stored line');
        // the stream is open (and its stored lines read, an instant later)
        await waitFor(async () => ((await (await fetch(`${hub.url}/healthz`)).json()) as { subscribers: number }).subscribers > 0 || undefined, 20_000, 'the follower subscribed');
        await new Promise((resolve) => setTimeout(resolve, 300));
        // the hub goes away; another hub on its data stores a line meanwhile; the hub comes back
        await hub.close();
        const meanwhile = await hubOn(dir);
        await beat(meanwhile, 'w-r', [{ ...now('during the gap'), level }]);
        await meanwhile.close();
        hub = await hubOn(dir, port);
        await waitFor(() => out.includes('during the gap'), 20_000, "the gap's line");
        await beat(hub, 'w-r', [{ ...now('after'), level }]);
        await waitFor(() => out.includes('after'), 20_000, 'the line after');
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(messages()).toEqual(level === 'INFO' ? ['stored before', 'during the gap', 'after'] : ['during the gap', 'after']);
      } finally {
        following.child.kill('SIGTERM');
        await following;
        await hub.close();
      }
    });
  }

  it('GET /api/logs/stream?source_id= resumes after Last-Event-ID (or ?after=), each event with its seq as id', async () => {
    const hub = await hubOn(tempDir());
    try {
      await beat(hub, 'w-id', [now('one'), now('two'), now('three')]);
      const controller = new AbortController();
      const answer = await fetch(`${hub.url}/api/logs/stream?source_id=w-id`, { headers: { 'Last-Event-ID': '1' }, signal: controller.signal });
      expect(answer.status).toBe(200);
      const reader = answer.body!.getReader();
      let text = '';
      while (!text.includes('three')) text += new TextDecoder().decode((await reader.read()).value);
      await beat(hub, 'w-id', [now('four')]);
      while (!text.includes('four')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      const events = text.split('\n\n').filter((frame) => frame.includes('event: log'));
      expect(events.map((frame) => [/^id: (\d+)$/m.exec(frame)?.[1], /"message":"(\w+)"/.exec(frame)?.[1]])).toEqual([
        ['2', 'two'],
        ['3', 'three'],
        ['4', 'four'],
      ]);
      const bad = await fetch(`${hub.url}/api/logs/stream?after=3`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ field: 'after' });
    } finally {
      await hub.close();
    }
  });
});
