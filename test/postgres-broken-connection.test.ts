/**
 * A connection the server ends (a restart, pg_terminate_backend) while the hub holds it checked
 * out between two queries, as `exclusive` does while housekeeping runs: the client emits 'error'
 * with no query there to take it. Without a listener that was an uncaught exception (the hub
 * died; vitest reported it as an unhandled error in a CI run of this stop).
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/store.js';
import { createTestDatabase, describeWithPostgres, PG_BASE, type TestDatabase } from './postgres.js';

describeWithPostgres('a PostgreSQL connection ended while the hub holds it', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = await PostgresStore.open(database.url);
    admin = new pg.Client({ connectionString: PG_BASE });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await store?.close();
    await database?.drop();
  });

  it('is no crash: the task ends, and the store goes on with new connections', async () => {
    const uncaught: unknown[] = [];
    const note = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', note);
    try {
      const ran = await store
        .exclusive('broken', async () => {
          // every backend of the hub's pool, the one `exclusive` holds among them
          await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database.name]);
          await new Promise((resolve) => setTimeout(resolve, 300));
          return 'ran';
        })
        .catch((error: Error) => error.message);
      expect(typeof ran).toBe('string');
      expect(uncaught).toEqual([]);
      expect(await store.listRuns({ limit: 1 })).toEqual([]);
    } finally {
      process.off('uncaughtException', note);
    }
  });
});
