/**
 * A role that may connect but not create runlog's tables (PostgreSQL 15 takes CREATE on schema
 * public from PUBLIC): `runlog server` and `runlog migrate` said only "runlog: permission denied
 * for schema public", not which database, nor what to do. A real role of its own over TCP with a
 * password (the local socket authenticates by OS user, and a superuser is never refused).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliKilledAfterEach, tempDir } from './helpers.js';
import { adminWithLoginRole, createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const cli = cliKilledAfterEach();

describeWithPostgres('a PostgreSQL role without the rights to make runlog’s tables', () => {
  const role = `runlog_role_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let database: TestDatabase;
  let admin: pg.Client;
  let url: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    admin = await adminWithLoginRole(database.name, role, password);
    url = `postgres://${role}:${password}@127.0.0.1:5432/${database.name}`;
  });
  afterAll(async () => {
    await database?.drop();
    await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin?.end();
  });

  const shown = () => `postgres://${role}:***@127.0.0.1:5432/${database.name}`;

  it('runlog server exits 2 naming the database (password hidden) and what to do', async () => {
    const result = await cli(['server', '--port', '0', '--data', tempDir(), '--db', url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`runlog: ${shown()}: permission denied for schema public`);
    expect(result.stderr).toContain('runlog migrate --db');
    expect(result.stderr).not.toContain(password);
  });

  it('runlog migrate says the same', async () => {
    const result = await cli(['migrate', '--db', url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`runlog: ${shown()}: permission denied for schema public`);
    expect(result.stderr).not.toContain(password);
  });
});
