/**
 * Two hubs on one PostgreSQL database when hub B's LISTEN connection drops: the notices sent while
 * it was away reach nobody, so on reconnect hub B reads what its viewers missed from the store.
 */
import { EventSource } from 'eventsource';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { PostgresStore } from '../src/store/postgres/store.js';
import type { Run } from '../src/store/store.js';
import { tempDir, waitFor } from './helpers.js';
import { createTestDatabase, describeWithPostgres, PG_BASE, type TestDatabase } from './postgres.js';

const post = (url: string, body: object) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, timestamp: Date.now() * 1000, level: 'INFO', message: `line ${from + i}` }));

describeWithPostgres("hub B's LISTEN connection lost and back", () => {
  let database: TestDatabase;
  let a: RunningHub;
  let b: RunningHub;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    const hub = () => startHub({ db: database.url, host: '127.0.0.1', port: 0, dataDir: tempDir(), ssePingMs: 1000 }, { audit: () => {} });
    a = await hub();
    b = await hub();
    admin = new pg.Client({ connectionString: PG_BASE });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  /** Terminates hub B's LISTEN backend and resolves once PostgreSQL no longer lists it. */
  const dropListen = async () => {
    const name = `${(b.store as PostgresStore).origin}-listen`;
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
    expect(killed.rowCount).toBe(1);
    await waitFor(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name])).rowCount === 0 || undefined, 5000, 'the LISTEN backend gone');
    return name;
  };

  it("gives a live viewer on hub B the lines hub A ingested while B's LISTEN was down, though the run went quiet after, then its end", async () => {
    expect((await post(`${a.url}/api/runs`, { id: 'gap' })).status).toBe(201);
    expect((await post(`${a.url}/api/runs/gap/logs`, { records: lines(1, 3) })).status).toBe(200);
    const seqs: number[] = [];
    let ended: Run | undefined;
    const source = new EventSource(`${b.url}/api/runs/gap/logs/stream?batch=1&after=0`);
    source.addEventListener('logs', (event) => {
      for (const record of JSON.parse(event.data) as WireRecord[]) seqs.push(record.seq);
    });
    source.addEventListener('end', (event) => {
      ended = JSON.parse(event.data) as Run;
      source.close();
    });
    try {
      await waitFor(() => seqs.length === 3 || undefined, 10_000, 'the backlog on hub B');
      const name = await dropListen();
      // the gap: hub B listens again only a second (RECONNECT_MS) after it saw the loss
      expect((await post(`${a.url}/api/runs/gap/logs`, { records: lines(4, 10) })).status).toBe(200);
      expect((await post(`${a.url}/api/runs/gap/finish`, { status: 'completed', exit_code: 0 })).status).toBe(200);
      await waitFor(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name])).rowCount === 1 || undefined, 10_000, 'hub B listening again');
      // nothing more is sent: only the catch-up can bring them
      await waitFor(() => ended, 10_000, 'the end on hub B');
      expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(ended).toMatchObject({ status: 'completed' });
    } finally {
      source.close();
    }
  });

  it('keeps trying to LISTEN again when the first reconnect fails too', async () => {
    expect((await post(`${a.url}/api/runs`, { id: 'retry' })).status).toBe(201);
    const seqs: number[] = [];
    const source = new EventSource(`${b.url}/api/runs/retry/logs/stream?batch=1&after=0`);
    source.addEventListener('logs', (event) => {
      for (const record of JSON.parse(event.data) as WireRecord[]) seqs.push(record.seq);
    });
    try {
      await waitFor(() => source.readyState === EventSource.OPEN || undefined, 10_000, 'the stream open');
      await new Promise((r) => setTimeout(r, 200)); // its backlog read: live
      await dropListen();
      expect((await post(`${a.url}/api/runs/retry/logs`, { records: lines(1, 5) })).status).toBe(200);
      // no new connection to the database for a while: hub B's first reconnect, a second on, fails
      await admin.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS false`);
      try {
        await new Promise((r) => setTimeout(r, 1500));
      } finally {
        await admin.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS true`);
      }
      await waitFor(() => seqs.length === 5 || undefined, 10_000, 'the lines on hub B after the database took connections again');
      expect(seqs).toEqual([1, 2, 3, 4, 5]);
    } finally {
      source.close();
    }
  });

  it("gives hub B's viewers of worker lines (all workers, and one) the lines stored while B's LISTEN was down, each once", async () => {
    const worker = new pg.Client({ connectionString: database.url });
    await worker.connect();
    const all: string[] = [];
    const one: string[] = [];
    const watch = (url: string, into: string[]) => {
      const source = new EventSource(url);
      source.addEventListener('log', (event) => into.push((JSON.parse(event.data) as { message: string }).message));
      return source;
    };
    const heartbeat = (hub: RunningHub, message: string) =>
      post(`${hub.url}/api/workers/w-gap/heartbeat`, { status: 'idle', logs: [{ timestamp: Date.now() / 1000, level: 'INFO', message }] });
    const sources = [watch(`${b.url}/api/logs/stream`, all), watch(`${b.url}/api/logs/stream?source_id=w-gap`, one)];
    try {
      await waitFor(() => sources.every((s) => s.readyState === EventSource.OPEN) || undefined, 10_000, 'the streams open');
      expect((await heartbeat(a, 'before')).status).toBe(200);
      await waitFor(() => (all.length === 1 && one.length === 1) || undefined, 10_000, 'the first line live on hub B');
      const name = await dropListen();
      // the gap: through hub A, through the seed's function itself, and through hub B
      expect((await heartbeat(a, 'via A')).status).toBe(200);
      const logs = JSON.stringify([{ timestamp: new Date().toISOString(), level: 'INFO', message: 'via the function' }]);
      await worker.query('SELECT func_worker_heartbeat_with_logs($1, NULL, NULL, $2::jsonb, NULL)', ['w-gap', logs]);
      expect((await heartbeat(b, 'via B')).status).toBe(200);
      await waitFor(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name])).rowCount === 1 || undefined, 10_000, 'hub B listening again');
      expect((await heartbeat(a, 'after')).status).toBe(200);
      const expected = ['before', 'via A', 'via the function', 'via B', 'after'];
      for (const got of [all, one]) await waitFor(() => got.length >= expected.length || undefined, 10_000, `the gap's lines on hub B (got ${JSON.stringify(got)})`);
      await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show
      expect([...all].sort()).toEqual([...expected].sort());
      expect([...one].sort()).toEqual([...expected].sort());
    } finally {
      for (const source of sources) source.close();
      await worker.end();
    }
  });

  it("gives hub B's viewers a worker line whose heartbeat began before a later one's yet committed in the gap", async () => {
    const first = new pg.Client({ connectionString: database.url });
    const second = new pg.Client({ connectionString: database.url });
    await first.connect();
    await second.connect();
    const got: string[] = [];
    const source = new EventSource(`${b.url}/api/logs/stream`);
    source.addEventListener('log', (event) => got.push((JSON.parse(event.data) as { message: string }).message));
    // two workers: one worker's heartbeats wait for each other (its row in workers)
    const call = (client: pg.Client, worker: string, message: string) =>
      client.query('SELECT func_worker_heartbeat_with_logs($1, NULL, NULL, $2::jsonb, NULL)', [worker, JSON.stringify([{ timestamp: new Date().toISOString(), level: 'INFO', message }])]);
    try {
      await waitFor(() => source.readyState === EventSource.OPEN || undefined, 10_000, 'the stream open');
      // the first heartbeat takes its ids, then waits; a second one takes later ids and commits
      await first.query('BEGIN');
      await call(first, 'w-early', 'in flight');
      await call(second, 'w-late', 'committed first');
      await waitFor(() => got.includes('committed first') || undefined, 10_000, 'the later heartbeat live on hub B');
      const name = await dropListen();
      await first.query('COMMIT'); // in the gap: its notice reaches nobody
      await waitFor(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name])).rowCount === 1 || undefined, 10_000, 'hub B listening again');
      await waitFor(() => got.includes('in flight') || undefined, 10_000, `the earlier heartbeat's line on hub B (got ${JSON.stringify(got)})`);
      expect(got).toEqual(['committed first', 'in flight']);
    } finally {
      source.close();
      await first.end();
      await second.end();
    }
  });
});
