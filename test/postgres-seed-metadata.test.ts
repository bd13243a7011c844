/**
 * The seed's function takes a line's `metadata` as any JSON (`COALESCE(log->'metadata', '{}')`): a
 * caller may send a string or an array. Spread as an object, `"hello"` came back as
 * `{"0":"h","1":"e",…}` from GET /api/search, `runlog grep` and the live stream of workers' lines,
 * while GET /api/logs gave the string: every view now gives one object (issue 10, the seeds'
 * contract: "both appear live in the API, the CLI and the UI, with their lines").
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/store.js';
import { searchMatch, systemLogFromRecord } from '../src/store/rows.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

describeWithPostgres("a seed worker's metadata that is not an object", () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('reads the same in /api/logs, search and the live stream: kept whole under the key metadata', async () => {
    database = await createTestDatabase();
    const store = await PostgresStore.open(database.url);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const at = new Date(Date.now() - 60_000).toISOString();
      const logs = [
        { timestamp: at, level: 'INFO', message: 'meta string', metadata: 'hello' },
        { timestamp: at, level: 'INFO', message: 'meta array', metadata: [1, 2] },
        { timestamp: at, level: 'INFO', message: 'meta number', metadata: 7 },
        { timestamp: at, level: 'INFO', message: 'meta object', metadata: { module: 'worker' } },
      ];
      await client.query('SELECT func_worker_heartbeat_with_logs($1, NULL, NULL, $2::jsonb, NULL)', ['odd-1', JSON.stringify(logs)]);
      const expected: Record<string, unknown> = {
        'meta string': { metadata: 'hello' },
        'meta array': { metadata: [1, 2] },
        'meta number': { metadata: 7 },
        'meta object': { module: 'worker' },
      };
      const byMessage = (rows: { message: string; metadata?: unknown }[]) => Object.fromEntries(rows.map((row) => [row.message, row.metadata]));

      // GET /api/logs
      expect(byMessage(await store.querySystemLogs({ source_id: 'odd-1' }))).toEqual(expected);
      // GET /api/search and `runlog grep`
      const found = await store.searchLines({ q: 'meta' });
      expect(byMessage(found.records.map(searchMatch))).toEqual(expected);
      // the live stream's backlog (GET /api/logs/stream with Last-Event-ID) and `runlog logs worker:odd-1`
      expect(byMessage((await store.readLogs('worker:odd-1', 0, 10)).map(systemLogFromRecord))).toEqual(expected);
    } finally {
      await client.end();
      await store.close();
    }
  });
});
