/**
 * A hub whose PostgreSQL database goes out of reach: /healthz asks the store itself and says so
 * (503), the API answers 503 STORE_UNAVAILABLE rather than 500, and all is well again once the
 * database takes connections. Out of reach for real: the database closed to new connections
 * (ALTER DATABASE … ALLOW_CONNECTIONS false) and the hub's connections terminated.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answers } from '../src/cli/hub-client.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { tempDir, waitFor } from './helpers.js';
import { createTestDatabase, describeWithPostgres, PG_BASE, type TestDatabase } from './postgres.js';

describeWithPostgres('a hub whose PostgreSQL database is out of reach', () => {
  let database: TestDatabase;
  let hub: RunningHub;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    hub = await startHub({ db: database.url, host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
    admin = new pg.Client({ connectionString: PG_BASE });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS true`).catch(() => {});
    await admin?.end();
    await hub?.close();
    await database?.drop();
  });

  const answer = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${hub.url}${path}`, init);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers /healthz 503 "store unreachable" and the API 503 STORE_UNAVAILABLE, then 200 once the database is back', async () => {
    expect(await answer('/healthz')).toMatchObject({ status: 200, body: { ok: true, store: 'ok' } });
    await admin.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database.name]);
    try {
      const health = await answer('/healthz');
      // a runner still takes it for its hub: it waits for the database rather than split a run off to its local store
      expect(await answers(hub.url, 3000)).toBe(true);
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ ok: false, store: 'unreachable', error: expect.stringMatching(/^store unreachable: /) });
      for (const [method, path] of [['GET', '/api/runs'], ['GET', '/api/workers'], ['POST', '/api/runs']] as const) {
        const refused = await answer(path, method === 'POST' ? { method, headers: { 'content-type': 'application/json' }, body: '{"id":"r1"}' } : {});
        expect([method, path, refused.status, refused.body.error]).toEqual([method, path, 503, 'STORE_UNAVAILABLE']);
        expect(refused.body.message).toMatch(/the hub's store is unreachable .*: retry later/);
      }
    } finally {
      await admin.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS true`);
    }
    await waitFor(async () => (await answer('/healthz')).status === 200 || undefined, 10_000, '/healthz ok again');
    expect((await answer('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"r1"}' })).status).toBe(201);
  });
});
