/**
 * A real PostgreSQL for the tests: RUNLOG_TEST_PG (a URL to a server where we may create
 * databases), else the local server through its socket as the current user. Each suite gets a fresh
 * database, runlog_test_<random>, dropped after. Without a server: the suites are skipped, saying
 * so, except in strict mode (RUNLOG_TEST_STRICT=1), where they fail instead.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/store.js';

const STRICT = process.env.RUNLOG_TEST_STRICT === '1';
export const PG_BASE = process.env.RUNLOG_TEST_PG || `postgres://${process.env.USER ?? 'root'}@/postgres?host=/var/run/postgresql`;

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

const unavailable = await probe();

/** describe() for a suite that needs PostgreSQL: skipped (or failing, in strict mode) without one. */
export function describeWithPostgres(name: string, body: () => void): void {
  if (unavailable === undefined) {
    describe(name, body);
    return;
  }
  const why = `no PostgreSQL at ${PG_BASE} (${unavailable}); set RUNLOG_TEST_PG or start one (pg_ctlcluster 15 main start)`;
  if (STRICT) {
    describe(name, () => {
      it('needs PostgreSQL', () => {
        throw new Error(`${name}: ${why}; strict mode (RUNLOG_TEST_STRICT=1): not skipping`);
      });
    });
    return;
  }
  console.warn(`${name}: ${why}: skipping`);
  describe.skip(name, body);
}

/** `url` with another database name. */
export function withDatabase(url: string, database: string): string {
  // not new URL(): a socket URL (postgres://user@/db?host=/var/run/postgresql) has no host
  const match = /^(postgres(?:ql)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (match === null) throw new Error(`not a PostgreSQL URL: ${url}`);
  return `${match[1]}/${database}${match[2] ?? ''}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `runlog_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    name,
    url: withDatabase(PG_BASE, name),
    async drop() {
      const client = new pg.Client({ connectionString: PG_BASE });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * An admin connection and, made through it, a role that may log in to `database` and no more
 * (each test grants or takes away what it is about). Drop the role with the connection after.
 */
export async function adminWithLoginRole(database: string, role: string, password: string): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await admin.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
  return admin;
}

/** A store on a fresh database, dropped when the store closes. */
export async function freshPostgresStore(): Promise<PostgresStore> {
  const database = await createTestDatabase();
  const store = await PostgresStore.open(database.url);
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await database.drop();
  };
  return store;
}
