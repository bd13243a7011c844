/**
 * Migrations on start: under a session advisory lock, so two hubs starting at once apply each step
 * once (the second waits, then finds nothing to do). Each step runs in its own transaction with
 * its row in `schema_migrations`: a step is applied whole or not at all.
 */
import { refuseNewerSchema } from '../schema-version.js';
import type pg from 'pg';
import { MIGRATIONS, type Migration } from './schema.js';

/** pg_advisory_lock key: "runlog" as a number, the same for every hub */
const MIGRATION_LOCK = 0x72756e6c6f67;

export interface MigrationStep {
  version: number;
  name: string;
}

export interface MigrationResult {
  /** the steps applied (or, in a dry run, that would be) */
  steps: MigrationStep[];
  /** the version the database is at afterwards (a dry run: still the one before) */
  version: number;
}

export async function migratePostgres(pool: pg.Pool, { dryRun = false } = {}): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      // a dry run writes nothing (a read-only role can ask): no table yet means nothing applied
      const exists = (await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t")).rows[0]?.t != null;
      if (!exists && !dryRun) {
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())`);
      }
      const versions = exists ? (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows : [];
      const applied = new Set(versions.map((r) => r.version));
      refuseNewerSchema('PostgreSQL database', Math.max(0, ...applied), MIGRATIONS);
      const pending = MIGRATIONS.filter((m) => !applied.has(m.version));
      if (!dryRun) for (const migration of pending) await apply(client, migration);
      const known = [...applied, ...(dryRun ? [] : pending.map((m) => m.version))];
      return { steps: pending.map(({ version, name }) => ({ version, name })), version: Math.max(0, ...known) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

async function apply(client: pg.PoolClient, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`);
  }
}
