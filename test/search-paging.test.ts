/**
 * GET /api/search pages exactly with `until` and `before=<stream>/<seq>` when many lines share one
 * microsecond: each line once, in one order (timestamp, stream, seq, newest first) on SQLite and
 * PostgreSQL alike. Before the cursor, paging by `until` alone gave the same µs again and again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { getJson, tempDir } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

interface Match {
  stream: string;
  seq: number;
  timestamp: string;
}

const T = 1_795_465_800_000_000; // one µs that many lines share
const post = async (url: string, body: object) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
};

/** Three runs and two workers, 25 lines each at T, and a line each before and after it. */
async function seed(url: string): Promise<string[]> {
  const expected: { stream: string; seq: number; ts: number }[] = [];
  for (const run of ['run-a', 'run-b', 'run-c']) {
    await post(`${url}/api/runs`, { id: run, command: 'seeded' });
    const records = Array.from({ length: 27 }, (_, i) => ({ seq: i + 1, timestamp: i === 0 ? T - 1 : i === 26 ? T + 1 : T, level: 'INFO', message: `same µs ${i}` }));
    await post(`${url}/api/runs/${run}/logs`, { records });
    expected.push(...records.map((r) => ({ stream: run, seq: r.seq, ts: r.timestamp })));
  }
  for (const worker of ['w-1', 'w-2']) {
    const logs = Array.from({ length: 25 }, (_, i) => ({ timestamp: T, level: 'INFO', message: `same µs ${i}` }));
    await post(`${url}/api/workers/${worker}/heartbeat`, { logs });
    expected.push(...logs.map((_, i) => ({ stream: `worker:${worker}`, seq: i + 1, ts: T })));
  }
  // the documented order: timestamp, then stream, then seq, each newest (largest) first
  expected.sort((a, b) => b.ts - a.ts || (a.stream < b.stream ? 1 : a.stream > b.stream ? -1 : b.seq - a.seq));
  return expected.map((line) => `${line.stream}/${line.seq}`);
}

/** Every page of `limit` lines, each after the last line of the one before. */
async function pageThrough(url: string, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor = '';
  for (let pages = 0; pages < 1000; pages++) {
    const page = await getJson<{ logs: Match[]; truncated: boolean }>(`${url}/api/search?q=same&limit=${limit}${cursor}`);
    expect(page.status).toBe(200);
    seen.push(...page.body.logs.map((line) => `${line.stream}/${line.seq}`));
    const last = page.body.logs.at(-1);
    if (!page.body.truncated || last === undefined) return seen;
    cursor = `&until=${encodeURIComponent(last.timestamp)}&before=${encodeURIComponent(`${last.stream}/${last.seq}`)}`;
  }
  throw new Error(`no end after 1000 pages: ${seen.length} lines`);
}

function pagingCases(hubOf: () => RunningHub) {
  let expected: string[];
  beforeAll(async () => {
    expected = await seed(hubOf().url);
  });

  it('pages through 131 lines, 125 of one µs, each exactly once in (timestamp, stream, seq) order', async () => {
    for (const limit of [1, 7, 25, 200]) expect(await pageThrough(hubOf().url, limit)).toEqual(expected);
  });

  it('refuses a cursor without `until`, or not <stream>/<seq>, with a 400 naming `before`', async () => {
    for (const query of ['before=run-a/3', 'until=1h&before=run-a', 'until=1h&before=run-a/x', 'until=1h&before=/3']) {
      const answer = await getJson<{ field: string }>(`${hubOf().url}/api/search?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.field, query).toBe('before');
    }
  });
}

describe('search paging on SQLite', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
  });
  afterAll(async () => hub?.close());
  pagingCases(() => hub);
});

describeWithPostgres('search paging on PostgreSQL', () => {
  let database: TestDatabase;
  let hub: RunningHub;
  beforeAll(async () => {
    database = await createTestDatabase();
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: database.url }, { audit: () => {} });
  });
  afterAll(async () => {
    await hub?.close();
    await database?.drop();
  });
  pagingCases(() => hub);
});
