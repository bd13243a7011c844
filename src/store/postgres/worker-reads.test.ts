/**
 * Reading a worker's lines after a seq (readLogs: an SSE resume's backlog, a LISTEN catch-up) asks
 * for a page and nothing more: a COUNT of every line the worker has (48 h of them, millions) on
 * each page was a scan of the worker's rows per page, where the reader needs no count.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../../../test/postgres.js';
import { workerStream } from '../store.js';
import { PostgresStore } from './store.js';

describeWithPostgres('PostgreSQL readLogs of a worker stream', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = await PostgresStore.open(database.url);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it("reads a page of a worker's lines after a seq without counting all its lines", async () => {
    const stream = workerStream('w-read');
    await store.appendRecords(
      stream,
      [1, 2, 3, 4, 5].map((seq) => ({ stream, seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO' as const, message: `line ${seq}` })),
    );
    const statements: string[] = [];
    const query = store.pool.query.bind(store.pool);
    store.pool.query = ((text: unknown, ...rest: unknown[]) => {
      statements.push(typeof text === 'string' ? text : String((text as { text?: string }).text));
      return (query as (...args: unknown[]) => unknown)(text, ...rest);
    }) as typeof store.pool.query;
    try {
      const page = await store.readLogs(stream, 2, 2);
      expect(page.map((record) => record.seq)).toEqual([3, 4]);
    } finally {
      store.pool.query = query;
    }
    expect(statements.filter((text) => /count\(/i.test(text))).toEqual([]);
  });
});
