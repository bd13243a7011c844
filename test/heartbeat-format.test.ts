/**
 * The seeds' heartbeat log format over HTTP (issue 10): lines without seq, `metadata`, Python's
 * levelno and time.time(), a worker that restarts and counts from 1 again, a resent heartbeat.
 */
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { SystemLog } from '../src/store/store.js';
import { epochToMicros } from '../src/core/time.js';
import { levelFromNumber } from '../src/core/record.js';
import { getJson, hubOn, tempDir, waitFor } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

let hub: RunningHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function beat(worker: string, logs: object[], extra: object = {}): Promise<{ status: number; body: { logs_inserted?: number; field?: string } }> {
  const response = await fetch(`${hub!.url}/api/workers/${worker}/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'idle', logs, ...extra }),
  });
  return { status: response.status, body: (await response.json()) as { logs_inserted?: number } };
}

/** A worker's lines in seq order. */
async function lines(worker: string): Promise<SystemLog[]> {
  const { body } = await getJson<{ logs: SystemLog[] }>(`${hub!.url}/api/logs?source_id=${worker}&limit=10000`);
  return body.logs.sort((a, b) => a.seq - b.seq);
}

describe('the seeds’ heartbeat format', () => {
  it('accepts the seed worker’s lines as it sends them: no seq, metadata, task id', async () => {
    hub = await hubOn(tempDir());
    const seedLine = { timestamp: '2026-03-04T05:06:07.123456+00:00', level: 'INFO', message: 'Worker started', task_id: 'task-1', metadata: { module: 'worker', funcName: 'main', lineno: 42 } };
    const answer = await beat('seed-w', [seedLine, { ...seedLine, level: 'ERROR', message: 'Generation failed', metadata: { exc: 'OOM' } }]);
    expect(answer).toEqual({ status: 200, body: { success: true, logs_inserted: 2 } });
    const stored = await lines('seed-w');
    expect(stored.map((l) => [l.seq, l.level, l.message, l.task_id, l.timestamp])).toEqual([
      [1, 'INFO', 'Worker started', 'task-1', '2026-03-04T05:06:07.123456Z'],
      [2, 'ERROR', 'Generation failed', 'task-1', '2026-03-04T05:06:07.123456Z'],
    ]);
  });

  it('takes null as no value in every optional field of a line, as a Python worker sends None', async () => {
    hub = await hubOn(tempDir());
    const line = { timestamp: 1_796_075_000.5, level: 20, message: 'nones', seq: null, task_id: null, metadata: null, attrs: null, logger: null, source: null, phase: null };
    expect(await beat('none-w', [line])).toEqual({ status: 200, body: { success: true, logs_inserted: 1 } });
    expect((await lines('none-w')).map((l) => [l.message, l.task_id, l.metadata])).toEqual([['nones', null, {}]]);
    // a value of the wrong type is still a 400 naming the field
    expect(await beat('none-w', [{ ...line, logger: 5 }])).toMatchObject({ status: 400, body: { field: 'logs[0].logger' } });
  });

  it('filters /api/logs by worker_id as by source_id; two that differ are a 400 naming worker_id', async () => {
    hub = await hubOn(tempDir());
    for (const worker of ['w-a', 'w-b']) await beat(worker, [{ timestamp: Date.now() / 1000, level: 'INFO', message: `from ${worker}` }]);
    const ask = (query: string) => getJson<{ logs?: SystemLog[]; field?: string }>(`${hub!.url}/api/logs?${query}`);
    expect((await ask('worker_id=w-b')).body.logs?.map((l) => l.message)).toEqual(['from w-b']);
    expect((await ask('worker_id=w-a&source_id=w-a')).body.logs?.map((l) => l.message)).toEqual(['from w-a']);
    const clash = await ask('worker_id=w-a&source_id=w-b');
    expect([clash.status, clash.body.field]).toEqual([400, 'worker_id']);
  });

  it('follows one worker on /api/logs/stream by worker_id as by source_id (not every worker); two that differ are a 400 naming worker_id', async () => {
    hub = await hubOn(tempDir());
    const live = new EventSource(`${hub.url}/api/logs/stream?worker_id=live-b`);
    const received: string[] = [];
    live.addEventListener('log', (event) => received.push((JSON.parse(event.data) as SystemLog).message));
    await new Promise<void>((resolve) => live.addEventListener('open', () => resolve()));
    for (const worker of ['live-a', 'live-b']) await beat(worker, [{ timestamp: Date.now() / 1000, level: 'INFO', message: `from ${worker}` }]);
    await waitFor(() => received.length >= 1 || undefined, 10_000, 'the live line');
    await new Promise((resolve) => setTimeout(resolve, 300));
    live.close();
    expect(received).toEqual(['from live-b']);
    const clash = await getJson<{ field?: string }>(`${hub.url}/api/logs/stream?worker_id=live-a&source_id=live-b`);
    expect([clash.status, clash.body.field]).toEqual([400, 'worker_id']);
  });

  it('gives metadata back as metadata, in the API and live, and keeps a sender’s keys apart from the hub’s', async () => {
    hub = await hubOn(tempDir());
    const live = new EventSource(`${hub.url}/api/logs/stream?source_id=meta-w`);
    const received: SystemLog[] = [];
    live.addEventListener('log', (event) => received.push(JSON.parse(event.data) as SystemLog));
    await new Promise<void>((resolve) => live.addEventListener('open', () => resolve()));
    const metadata = { module: 'train', funcName: 'step', lineno: 7, nested: { gpu: 0 }, group: 'not a traceback' };
    await beat('meta-w', [{ timestamp: Date.now() / 1000, level: 'INFO', message: 'with metadata', metadata }]);
    const [stored] = await lines('meta-w');
    expect(stored?.metadata).toEqual(metadata);
    await waitFor(() => received.length >= 1 || undefined, 10_000, 'the live line');
    live.close();
    expect(received[0]?.metadata).toEqual(metadata);
  });

  it('takes Python’s numeric levels, rounding a level in between down', async () => {
    hub = await hubOn(tempDir());
    const levels = [10, 20, 25, 30, 40, 50, 5, 60];
    await beat('levelno-w', levels.map((level) => ({ timestamp: Date.now() / 1000, level, message: `levelno ${level}` })));
    expect((await lines('levelno-w')).map((l) => l.level)).toEqual(['DEBUG', 'INFO', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'DEBUG', 'CRITICAL']);
    expect((await beat('levelno-w', [{ timestamp: 1, level: -1, message: 'x' }])).body.field).toBe('logs[0].level');
    // the seed's logger's own level, loguru's, and a levelno sent as text
    await beat('named-w', ['essential', 'SUCCESS', 'notice', '40'].map((level) => ({ timestamp: Date.now() / 1000, level, message: `named ${level}` })));
    expect((await lines('named-w')).map((l) => l.level)).toEqual(['INFO', 'INFO', 'INFO', 'ERROR']);
    expect((await beat('named-w', [{ timestamp: 1, level: 'loud', message: 'x' }])).body.field).toBe('logs[0].level');
  });

  it('takes epoch timestamps in seconds (float or int), ms and µs', async () => {
    hub = await hubOn(tempDir());
    const at = 1_767_225_600; // 2026-01-01T00:00:00Z
    await beat('epoch-w', [
      { timestamp: at + 0.25, level: 'INFO', message: 'float seconds' },
      { timestamp: at, level: 'INFO', message: 'int seconds' },
      { timestamp: at * 1000 + 500, level: 'INFO', message: 'ms' },
      { timestamp: at * 1e6 + 7, level: 'INFO', message: 'µs' },
    ]);
    expect((await lines('epoch-w')).map((l) => l.timestamp)).toEqual([
      '2026-01-01T00:00:00.250000Z',
      '2026-01-01T00:00:00.000000Z',
      '2026-01-01T00:00:00.500000Z',
      '2026-01-01T00:00:00.000007Z',
    ]);
    expect((await beat('epoch-w', [{ timestamp: 'yesterday', level: 'INFO', message: 'x' }])).body.field).toBe('logs[0].timestamp');
  });

  it('takes times as PostgreSQL prints a timestamptz (an offset of hours only, +00) and as Python prints a datetime', async () => {
    hub = await hubOn(tempDir());
    const sent = ['2026-01-01 00:00:00+00', '2026-01-01 05:30:00.5+05:30', '2026-01-01 02:00:00-02', '2026-01-01 00:00:00.000007+00:00'];
    expect((await beat('pg-times', sent.map((timestamp) => ({ timestamp, level: 'INFO', message: timestamp })))).status).toBe(200);
    expect((await lines('pg-times')).map((l) => l.timestamp)).toEqual([
      '2026-01-01T00:00:00.000000Z',
      '2026-01-01T00:00:00.500000Z',
      '2026-01-01T04:00:00.000000Z',
      '2026-01-01T00:00:00.000007Z',
    ]);
  });

  it('keeps every line of a worker that restarts and numbers its lines from 1 again', async () => {
    hub = await hubOn(tempDir());
    const life = (name: string, start: number) => [1, 2, 3].map((seq) => ({ seq, timestamp: (start + seq) * 1000, level: 'INFO', message: `${name} ${seq}` }));
    const now = Date.now();
    expect((await beat('reborn', life('first life', now))).body.logs_inserted).toBe(3);
    expect((await beat('reborn', life('second life', now + 1000))).body.logs_inserted).toBe(3);
    const stored = await lines('reborn');
    expect(stored.map((l) => [l.seq, l.message])).toEqual([
      [1, 'first life 1'],
      [2, 'first life 2'],
      [3, 'first life 3'],
      [4, 'second life 1'],
      [5, 'second life 2'],
      [6, 'second life 3'],
    ]);
  });

  it("keeps every line of a worker restarted on a machine whose clock is behind the old one's, when it says its session; a resend of the old life's last heartbeat is still one", async () => {
    const dataDir = tempDir();
    hub = await hubOn(dataDir);
    const now = Date.now();
    const life = (name: string, start: number) => [1, 2, 3].map((seq) => ({ seq, timestamp: (start + seq) * 1000, level: 'INFO', message: `${name} ${seq}` }));
    const old = life('old life', now);
    expect((await beat('moved', old, { session: 'life-a' })).body.logs_inserted).toBe(3);
    // its answer lost, the old life's heartbeat is replayed (by the next life, from the spool): a resend
    expect((await beat('moved', old, { session: 'life-a' })).body.logs_inserted).toBe(0);
    // the new life, on another machine 60 s behind, and after a hub restart: it says nothing of
    // its lines first (a heartbeat without lines leaves the worker's last session as it was)
    await hub.close();
    hub = await hubOn(dataDir);
    expect((await beat('moved', [], { session: 'life-b' })).status).toBe(200);
    expect((await beat('moved', life('new life', now - 60_000), { session: 'life-b' })).body.logs_inserted).toBe(3);
    expect((await beat('moved', life('new life', now - 60_000), { session: 'life-b' })).body.logs_inserted).toBe(0);
    expect((await lines('moved')).map((l) => l.message)).toEqual([...old.map((l) => l.message), 'new life 1', 'new life 2', 'new life 3']);
    // a worker that said no session before (an older client) and says one now: a new life too
    expect((await beat('upgraded', life('before', now))).body.logs_inserted).toBe(3);
    expect((await beat('upgraded', life('after', now - 60_000), { session: 'life-1' })).body.logs_inserted).toBe(3);
    // without a session, the clock is all the hub has: such a line looks resent
    expect((await beat('unsaid', life('old', now))).body.logs_inserted).toBe(3);
    expect((await beat('unsaid', life('behind', now - 60_000))).body.logs_inserted).toBe(0);
    expect((await beat('bad-session', [], { session: 'a b' })).body).toMatchObject({ field: 'session' });
  });

  it('stores a resent heartbeat once, also after a hub restart', async () => {
    const dataDir = tempDir();
    hub = await hubOn(dataDir);
    const t = Date.now() * 1000;
    const first = [1, 2].map((seq) => ({ seq, timestamp: t + seq, level: 'INFO', message: `line ${seq}` }));
    const second = [3, 4].map((seq) => ({ seq, timestamp: t + seq, level: 'INFO', message: `line ${seq}` }));
    await beat('resend-w', first);
    expect((await beat('resend-w', first)).body.logs_inserted).toBe(0);
    // a resend that overlaps what is stored keeps only what is new
    expect((await beat('resend-w', [...first, ...second])).body.logs_inserted).toBe(2);
    await hub.close();
    hub = await hubOn(dataDir);
    expect((await beat('resend-w', second)).body.logs_inserted).toBe(0);
    expect((await lines('resend-w')).map((l) => [l.seq, l.message])).toEqual([1, 2, 3, 4].map((seq) => [seq, `line ${seq}`]));
  });

  it('keeps every line of a heartbeat whose seqs are out of order, once, in the order sent', async () => {
    hub = await hubOn(tempDir());
    const t = Date.now() * 1000;
    const line = (seq: number) => ({ seq, timestamp: t + seq, level: 'INFO', message: `line ${seq}` });
    expect((await beat('unordered-w', [line(3), line(1), line(2), line(1)])).body.logs_inserted).toBe(3);
    expect((await beat('unordered-w', [line(2), line(5), line(4)])).body.logs_inserted).toBe(2);
    expect((await lines('unordered-w')).map((l) => l.message)).toEqual([3, 1, 2, 5, 4].map((seq) => `line ${seq}`));
  });

  it('gives concurrent heartbeats of one worker distinct seqs, losing none', async () => {
    hub = await hubOn(tempDir());
    const beats = Array.from({ length: 20 }, (_, b) =>
      beat('busy-w', Array.from({ length: 25 }, (_, i) => ({ timestamp: Date.now() / 1000, level: 20, message: `beat ${b} line ${i}` }))),
    );
    expect((await Promise.all(beats)).map((answer) => answer.body.logs_inserted)).toEqual(Array(20).fill(25));
    const stored = await lines('busy-w');
    expect(stored.map((l) => l.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(new Set(stored.map((l) => l.message)).size).toBe(500);
  });

  it('tells epoch units apart by size, and levelno by its band', () => {
    expect(epochToMicros(1.5)).toBe(1_500_000);
    expect(epochToMicros(1_767_225_600_123)).toBe(1_767_225_600_123_000);
    expect(epochToMicros(1_767_225_600_123_456)).toBe(1_767_225_600_123_456);
    expect(epochToMicros(-1)).toBeUndefined();
    expect([0, 19, 20, 29, 30, 45, 50, 99].map(levelFromNumber)).toEqual(['DEBUG', 'DEBUG', 'INFO', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'CRITICAL']);
    expect(levelFromNumber(Number.NaN)).toBeUndefined();
  });
});

describeWithPostgres('worker lines on PostgreSQL, through two hubs on one database', () => {
  let database: TestDatabase | undefined;
  const pgHubs: RunningHub[] = [];
  afterEach(async () => {
    await Promise.all(pgHubs.splice(0).map((h) => h.close().catch(() => {})));
    await database?.drop();
    database = undefined;
  });

  it('keeps every line once, in order, when each of a worker’s heartbeats goes to both hubs at once, across a restart', async () => {
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) pgHubs.push(await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: database.url, ssePingMs: 1000 }));
    const post = (hubUrl: string, logs: object[]) =>
      fetch(`${hubUrl}/api/workers/pg-w/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'idle', logs }) }).then((r) => r.json());
    const t = Date.now() * 1000;
    // two lives numbering from 1, each heartbeat sent to both hubs at once (a resend through a load balancer)
    for (const [life, start] of [['first', t], ['second', t + 1_000_000]] as const) {
      for (let beat = 0; beat < 5; beat++) {
        const logs = [1, 2, 3].map((n) => ({ seq: beat * 3 + n, timestamp: start + beat * 3 + n, level: 'INFO', message: `${life} ${beat * 3 + n}` }));
        await Promise.all(pgHubs.map((h) => post(h.url, logs)));
      }
    }
    // and the seed's format without seq, to both hubs at once: two different lines each time
    await Promise.all(pgHubs.map((h, i) => post(h.url, [{ timestamp: Date.now() / 1000, level: 20, message: `no seq via hub ${i}` }])));
    const { body } = await getJson<{ logs: SystemLog[] }>(`${pgHubs[0]!.url}/api/logs?source_id=pg-w&limit=10000`);
    const stored = body.logs.sort((a, b) => a.seq - b.seq);
    expect(stored.map((l) => l.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    const messages = stored.map((l) => l.message);
    const life = (name: string) => Array.from({ length: 15 }, (_, i) => `${name} ${i + 1}`);
    expect(messages.slice(0, 30)).toEqual([...life('first'), ...life('second')]);
    expect(messages.slice(30).sort()).toEqual(['no seq via hub 0', 'no seq via hub 1']);
  });

  it('keeps a new life whose clock is behind when its heartbeats alternate between the hubs (each hub knows the session from the stored lines)', async () => {
    if (pgHubs.length === 0) {
      database = await createTestDatabase();
      for (let i = 0; i < 2; i++) pgHubs.push(await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: database.url, ssePingMs: 1000 }));
    }
    const [x, y] = pgHubs as [RunningHub, RunningHub];
    const post = (hubUrl: string, session: string, logs: object[]) =>
      fetch(`${hubUrl}/api/workers/alt-w/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, logs }) }).then((r) => r.json() as Promise<{ logs_inserted: number }>);
    const now = Date.now() * 1000;
    const logs = (name: string, start: number, from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, timestamp: start + (from + i) * 1000, level: 'INFO', message: `${name} ${from + i}` }));
    expect((await post(x.url, 'a', logs('a', now, 1, 3))).logs_inserted).toBe(3);
    expect((await post(x.url, 'a', logs('a', now, 4, 5))).logs_inserted).toBe(2);
    const behind = now - 1_000_000_000; // 1000 s behind
    expect((await post(y.url, 'b', logs('b', behind, 1, 2))).logs_inserted).toBe(2);
    expect((await post(x.url, 'b', logs('b', behind, 3, 4))).logs_inserted).toBe(2);
    // resent through the other hub: still once
    expect((await post(y.url, 'b', logs('b', behind, 3, 4))).logs_inserted).toBe(0);
    const { body } = await getJson<{ logs: SystemLog[] }>(`${x.url}/api/logs?source_id=alt-w&limit=100`);
    expect(body.logs.sort((p, q) => p.seq - q.seq).map((l) => l.message)).toEqual(['a 1', 'a 2', 'a 3', 'a 4', 'a 5', 'b 1', 'b 2', 'b 3', 'b 4']);
  });
});
