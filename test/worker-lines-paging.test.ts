/**
 * GET /api/logs paged with `before=<id>` through a real hub, on SQLite and on PostgreSQL: lines
 * that share one timestamp (a worker flushing a burst in one heartbeat) each come exactly once,
 * in the documented order (timestamp desc, stream desc, seq desc: GET /api/search's order). Paging
 * by `until=<last timestamp>` repeated or skipped them, since every line of the burst has that
 * timestamp.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { SystemLog } from '../src/store/store.js';
import { getJson, tempDir } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const AT = 1_764_000_000.123456; // s: every line's timestamp
const WORKERS = { 'page-a': 100, 'page-c': 50, 'page-b': 100 }; // 250 lines, three streams

function pagingSuite(open: () => Promise<RunningHub>): void {
  let hub: RunningHub;
  afterAll(async () => {
    await hub?.close();
  });

  it('pages 250 lines of one timestamp, limit 100, with before=<id>: each line exactly once, timestamp desc, stream desc, seq desc', async () => {
    hub = await open();
    for (const [worker, count] of Object.entries(WORKERS)) {
      const logs = Array.from({ length: count }, (_, i) => ({ timestamp: AT, level: 'INFO', message: `${worker} line ${i + 1}` }));
      const beat = await fetch(`${hub.url}/api/workers/${worker}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logs }) });
      expect(beat.status).toBe(200);
    }
    const seen: SystemLog[] = [];
    const pages: number[] = [];
    let before: string | undefined;
    // at most 10 pages: a cursor ignored would page forever
    for (let page = 0; page < 10; page++) {
      const { status, body } = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?limit=100${before === undefined ? '' : `&before=${encodeURIComponent(before)}`}`);
      expect(status).toBe(200);
      pages.push(body.logs.length);
      if (body.logs.length === 0) break;
      seen.push(...body.logs);
      before = body.logs.at(-1)?.id;
    }
    expect(pages).toEqual([100, 100, 50, 0]);
    const expected = ['page-c', 'page-b', 'page-a'].flatMap((worker) =>
      Array.from({ length: WORKERS[worker as keyof typeof WORKERS] }, (_, i) => `worker:${worker}/${WORKERS[worker as keyof typeof WORKERS] - i}`),
    );
    expect(seen.map((line) => line.id)).toEqual(expected);
    expect(new Set(seen.map((line) => line.timestamp))).toEqual(new Set(['2025-11-24T16:00:00.123456Z']));
    // with the other filters: one worker's lines, paged by its own ids
    const one = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=page-c&limit=30&before=${encodeURIComponent('worker:page-c/21')}`);
    expect(one.body.logs.map((line) => line.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
  });

  it('lists lines of one timestamp in the order GET /api/search gives them, streams by code point, on every page', async () => {
    // byte order, not a locale's: `A` before `a`, `a` before `a.x`
    const workers = ['order-a', 'order-b', 'order-A', 'order-a.x'];
    for (const worker of workers) {
      const logs = Array.from({ length: 7 }, (_, i) => ({ timestamp: AT + 1, level: 'INFO', message: `ordered ${worker} ${i + 1}` }));
      const beat = await fetch(`${hub.url}/api/workers/${encodeURIComponent(worker)}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logs }) });
      expect(beat.status).toBe(200);
    }
    const search = await getJson<{ logs: { stream: string; seq: number }[] }>(`${hub.url}/api/search?q=ordered&limit=100`);
    const searched = search.body.logs.map((line) => `${line.stream}/${line.seq}`);
    expect(searched.slice(0, 7)).toEqual(Array.from({ length: 7 }, (_, i) => `worker:order-b/${7 - i}`));
    for (const limit of [100, 3]) {
      const listed: string[] = [];
      let before = '';
      for (let page = 0; page < 20; page++) {
        const { body } = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?q=ordered&limit=${limit}${before}`);
        if (body.logs.length === 0) break;
        listed.push(...body.logs.map((line) => line.id));
        before = `&before=${encodeURIComponent(body.logs.at(-1)?.id ?? '')}`;
      }
      expect(listed, `limit ${limit}`).toEqual(searched);
    }
  });

  it('refuses a before that is no line id, or names no stored line, with a 400 naming it', async () => {
    for (const before of ['page-a/3', 'worker:page-a', 'worker:page-a/x', 'worker:/3', 'worker:page-a/-1', 'worker:page-a/99999', 'worker:nobody/1']) {
      const response = await fetch(`${hub.url}/api/logs?before=${encodeURIComponent(before)}`);
      expect(response.status, before).toBe(400);
      expect(((await response.json()) as { field: string }).field, before).toBe('before');
    }
  });
}

describe('GET /api/logs?before= on SQLite', () => {
  pagingSuite(() => startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} }));
});

describeWithPostgres('GET /api/logs?before= on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });
  pagingSuite(async () => {
    database = await createTestDatabase();
    return startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: database.url }, { audit: () => {} });
  });
});
