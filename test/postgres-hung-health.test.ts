/**
 * A hub whose PostgreSQL database hangs: /healthz answers within its bound, saying store: "slow",
 * so a runner's probe (DEFAULTS.hubProbeMs) still finds its hub instead of writing the run to its
 * local store. Hung for real: another session holds an ACCESS EXCLUSIVE lock on `runs`, and the
 * hub's requests reading runs wait on it with every connection of its pool, so the health query
 * waits for a connection.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answers } from '../src/cli/hub-client.js';
import { DEFAULTS } from '../src/core/config.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { tempDir, waitFor } from './helpers.js';
import { createTestDatabase, describeWithPostgres, PG_BASE, withDatabase, type TestDatabase } from './postgres.js';

const POOL = 10; // PostgresStore's connections

describeWithPostgres('a hub whose PostgreSQL database hangs', () => {
  let database: TestDatabase;
  let hub: RunningHub;
  let locker: pg.Client;
  let watcher: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    hub = await startHub({ db: database.url, host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
    locker = new pg.Client({ connectionString: withDatabase(PG_BASE, database.name) });
    await locker.connect();
    watcher = new pg.Client({ connectionString: PG_BASE });
    await watcher.connect();
  });
  afterAll(async () => {
    await locker?.end().catch(() => {});
    await watcher?.end().catch(() => {});
    await hub?.close();
    await database?.drop();
  });

  it('answers /healthz store "slow" within its bound (200 for a moment, 503 once it has not answered for the grace), and a runner still takes it for its hub', async () => {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE runs IN ACCESS EXCLUSIVE MODE');
    // more readers than connections: the pool is all waiting on the lock
    const stuck = Array.from({ length: POOL + 2 }, () => fetch(`${hub.url}/api/runs`).then((r) => r.status, () => 0));
    try {
      // the hub's backends waiting on the lock (another session: pg_stat_activity is read once a transaction)
      const waiting = async () => {
        const { rows } = await watcher.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [database.name],
        );
        return rows[0]!.n >= POOL || undefined;
      };
      await waitFor(waiting, 10_000, 'the pool waiting on the lock');
      const started = Date.now();
      const health = await fetch(`${hub.url}/healthz`);
      const took = Date.now() - started;
      // slow for a moment: still healthy (a load balancer keeps the hub), and it says so
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true, store: 'slow', error: `store slow: no answer within ${DEFAULTS.healthStoreMs} ms` });
      expect(took).toBeLessThan(DEFAULTS.hubProbeMs);
      // what `runlog run` asks of the default hub, with its own timeout
      expect(await answers(hub.url)).toBe(true);
      // no answer for longer than the grace: not healthy any more
      // (or the health query's own 10 s wait for a pool connection ends first: store "unreachable")
      const unhealthy = await waitFor(async () => {
        const later = await fetch(`${hub.url}/healthz`);
        return later.status === 503 ? ((await later.json()) as { ok?: boolean; store?: string; error?: string }) : undefined;
      }, DEFAULTS.healthSlowGraceMs + 10_000, '/healthz 503 after the grace');
      // /healthz's own answer, never the guard's STORE_UNAVAILABLE (it asks the store nothing for /healthz)
      expect(unhealthy).toMatchObject({ ok: false, store: expect.stringMatching(/^(slow|unreachable)$/) });
      expect(Date.now() - started).toBeGreaterThan(DEFAULTS.healthSlowGraceMs - 1000);
    } finally {
      await locker.query('COMMIT');
    }
    // held past the pool's 10 s wait for a connection: answered 503 STORE_UNAVAILABLE, never a 500 or nothing
    expect((await Promise.all(stuck)).every((status) => status === 200 || status === 503)).toBe(true);
    await waitFor(async () => (await fetch(`${hub.url}/healthz`)).status === 200 || undefined, 10_000, '/healthz ok again');
  });
});
