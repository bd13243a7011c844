/**
 * Retention of worker lines stored at 'infinity' or '-infinity' (the seed's function takes any
 * timestamp its caller sends): they go by when they were stored, not never / at once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../../../test/postgres.js';
import { nowMicros } from '../../core/record.js';
import { PostgresStore } from './store.js';

const HOUR_US = 3600 * 1_000_000;

describeWithPostgres('PostgreSQL retention of lines with an infinite timestamp', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    // batches of 2: the statements are run to the end, not once
    store = await PostgresStore.open(database.url, { retention: { batchRows: 2, pauseMs: 0 } });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  /** A line as another writer stores it: `created_at` an SQL expression (the seed's default is NOW()). */
  const insert = (message: string, timestamp: string, createdAt: string) =>
    store.pool.query(
      `INSERT INTO system_logs (timestamp, level, message, source_type, source_id, created_at)
       VALUES (${timestamp}, 'INFO', $1, 'worker', 'w', ${createdAt})`,
      [message],
    );

  it("deletes an 'infinity' or '-infinity' line once it was stored before the cutoff, else by id order when it has no stored time", async () => {
    const old = "NOW() - INTERVAL '3 days'";
    await insert('timeless, stored before the others', "'infinity'", 'NULL');
    await insert('infinity, stored long ago', "'infinity'", old);
    await insert('-infinity, stored long ago', "'-infinity'", old);
    await insert('old', old, old);
    await insert('old too', old, old);
    await insert('infinity, stored now', "'infinity'", 'NOW()');
    await insert('-infinity, stored now', "'-infinity'", 'NOW()');
    await insert('timeless, stored after the old lines', "'-infinity'", "'infinity'");
    await insert('new', 'NOW()', 'NOW()');
    const deleted = await store.deleteLinesBefore('worker:', nowMicros() - 48 * HOUR_US);
    expect(deleted).toBe(5);
    const { rows } = await store.pool.query<{ message: string }>('SELECT message FROM system_logs ORDER BY id');
    expect(rows.map((row) => row.message)).toEqual(['infinity, stored now', '-infinity, stored now', 'timeless, stored after the old lines', 'new']);
    // a second pass finds nothing more
    expect(await store.deleteLinesBefore('worker:', nowMicros() - 48 * HOUR_US)).toBe(0);
  });

  it('deletes every old worker line in batches that go on from where the last ended: equal times, a line from the year 1200, other sources kept', async () => {
    await store.pool.query('DELETE FROM system_logs');
    const old = "NOW() - INTERVAL '3 days'";
    // 7 lines at one time (more than a batch of 2 holds), around lines that are not a worker's
    for (let i = 0; i < 7; i++) await insert(`same time ${i}`, "TIMESTAMPTZ '2020-01-01 00:00:00+00'", old);
    await store.pool.query(
      `INSERT INTO system_logs (timestamp, level, message, source_type, source_id) VALUES
         (TIMESTAMPTZ '2019-06-01 00:00:00+00', 'INFO', 'a system line, older', 'system', 's'),
         (TIMESTAMPTZ '2021-06-01 00:00:00+00', 'INFO', 'a system line, newer', 'system', 's')`,
    );
    await insert('the year 1200', "TIMESTAMPTZ '1200-03-01 12:00:00.000001+00'", old);
    await insert('old, with µs', "TIMESTAMPTZ '2022-05-05 05:05:05.123457+00'", old);
    await insert('old, a µs later', "TIMESTAMPTZ '2022-05-05 05:05:05.123458+00'", old);
    await insert('new', 'NOW()', 'NOW()');
    expect(await store.deleteLinesBefore('worker:', nowMicros() - 48 * HOUR_US)).toBe(10);
    const { rows } = await store.pool.query<{ message: string }>('SELECT message FROM system_logs ORDER BY id');
    expect(rows.map((row) => row.message)).toEqual(['a system line, older', 'a system line, newer', 'new']);
  });
});
