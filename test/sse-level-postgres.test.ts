/**
 * `?level=` on one worker's live stream on PostgreSQL, where its lines reach the hub out of seq
 * order (the seeds' function's lines when their notice is read, the hub's own heartbeats' at once)
 * and a viewer reads the gaps from the store (worker-gaps.ts): the lines below the level, skipped,
 * must leave no gap to read again, and every line at the level must come once, in seq order.
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { EventSource } from 'eventsource';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { PostgresStore } from '../src/store/postgres/store.js';
import type { SystemLog } from '../src/store/store.js';
import { getJson, tempDir, waitFor } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const line = ([level, message]: [string, string]) => ({ timestamp: new Date().toISOString(), level, message });

describeWithPostgres('?level= on a worker stream whose lines come out of order (PostgreSQL)', () => {
  let database: TestDatabase | undefined;
  let hub: RunningHub | undefined;
  let client: pg.Client | undefined;
  afterAll(async () => {
    await client?.end();
    await hub?.close();
    await database?.drop();
  });

  it('sends the lines at that level once each, in seq order, from the first line and from now', async () => {
    database = await createTestDatabase();
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: database.url, ssePingMs: 1000 });
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const call = (...lines: [string, string][]) => client!.query('SELECT func_worker_heartbeat_with_logs($1, NULL, NULL, $2::jsonb, NULL)', ['lvl-pg', JSON.stringify(lines.map(line))]);
    const beat = async (...lines: [string, string][]) => {
      const answer = await fetch(`${hub!.url}/api/workers/lvl-pg/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logs: lines.map(line) }) });
      expect(answer.status, await answer.clone().text()).toBe(200);
    };
    await call(['WARNING', 'f0'], ['INFO', 'f1']);
    // the function's lines are read late (as behind a busy notice queue): the hub's own heartbeat
    // lines after them reach the viewers first, past a gap
    const store = hub.store as PostgresStore;
    const read = store.systemLogRows.bind(store);
    store.systemLogRows = async (low, high) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return read(low, high);
    };
    const viewers = ['&after=0', ''].map((from) => {
      const seen: string[] = [];
      const source = new EventSource(`${hub!.url}/api/logs/stream?source_id=lvl-pg&level=WARNING${from}`);
      source.addEventListener('log', (event) => {
        const row = JSON.parse(event.data) as SystemLog;
        seen.push(`${row.seq} ${row.message}`);
      });
      return { seen, source };
    });
    try {
      await waitFor(() => viewers[0]!.seen.length === 1 || undefined, 20_000, 'the stored warning');
      await call(['WARNING', 'f2'], ['DEBUG', 'f3']);
      await beat(['INFO', 'h1'], ['ERROR', 'h2']);
      await call(['INFO', 'f4']);
      await beat(['WARNING', 'h3']);
      await call(['INFO', 'f5'], ['CRITICAL', 'f6']);
      const { body } = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=lvl-pg&level=WARNING&limit=100`);
      const wanted = body.logs.map((row) => `${row.seq} ${row.message}`).reverse();
      expect(wanted.map((text) => text.split(' ')[1])).toEqual(['f0', 'f2', 'h2', 'h3', 'f6']);
      await waitFor(() => viewers.every((viewer) => viewer.seen.some((text) => text.endsWith(' f6'))) || undefined, 20_000, 'the last line');
      await new Promise((resolve) => setTimeout(resolve, 1500)); // every late notice read
      expect(viewers[0]!.seen).toEqual(wanted);
      expect(viewers[1]!.seen).toEqual(wanted.slice(1));
    } finally {
      for (const viewer of viewers) viewer.source.close();
    }
  });
});
