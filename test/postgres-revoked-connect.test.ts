/**
 * A hub whose PostgreSQL role loses CONNECT on its database (REVOKE CONNECT, as an operator closing
 * it): connecting fails with 42501 "permission denied for database", which is the store out of
 * reach, so 503 STORE_UNAVAILABLE, not 500 INTERNAL. A real role of its own (not a superuser, who
 * is never refused), over TCP with a password: the local socket authenticates by OS user.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { tempDir, waitFor } from './helpers.js';
import { adminWithLoginRole, createTestDatabase, describeWithPostgres, PG_BASE, withDatabase, type TestDatabase } from './postgres.js';

describeWithPostgres('a hub whose PostgreSQL role has CONNECT revoked', () => {
  const role = `runlog_role_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let database: TestDatabase;
  let hub: RunningHub;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    admin = await adminWithLoginRole(database.name, role, password);
    const inDatabase = new pg.Client({ connectionString: withDatabase(PG_BASE, database.name) });
    await inDatabase.connect();
    await inDatabase.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${role}`); // to migrate: the hub makes its tables
    await inDatabase.end();
    const url = `postgres://${role}:${password}@127.0.0.1:5432/${database.name}`;
    hub = await startHub({ db: url, host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
  });
  afterAll(async () => {
    await hub?.close();
    await database?.drop();
    await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin?.end();
  });

  const answer = async (path: string) => {
    const response = await fetch(`${hub.url}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers 503 STORE_UNAVAILABLE and /healthz store "unreachable" once its CONNECT is revoked, and 200 once granted again', async () => {
    expect((await answer('/api/runs')).status).toBe(200);
    await admin.query(`REVOKE CONNECT ON DATABASE ${database.name} FROM PUBLIC, ${role}`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
    // the first answers may still come from connections cut under the pool (57P01, or a reset socket
    // when the cut lands mid-read): each is a 503 all the same; wait for a new connection's refusal
    const refused = await waitFor(async () => {
      const got = await answer('/api/runs');
      expect(got).toMatchObject({ status: 503, body: { error: 'STORE_UNAVAILABLE' } });
      return /57P01|terminat|ECONNRESET/i.test(String(got.body.message)) ? undefined : got;
    }, 15_000, 'a request on a new connection');
    expect(refused).toMatchObject({ status: 503, body: { error: 'STORE_UNAVAILABLE' } });
    expect(refused.body.message).toMatch(/42501 permission denied for database/);
    expect(await answer('/healthz')).toMatchObject({ status: 503, body: { store: 'unreachable' } });
    await admin.query(`GRANT CONNECT ON DATABASE ${database.name} TO ${role}`);
    expect((await answer('/api/runs')).status).toBe(200);
  });
});
