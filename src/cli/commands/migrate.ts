/**
 * `runlog migrate [--db URL] [--dry-run]`: the store's schema created or upgraded now, each step
 * printed. A hub migrates on start too; this is for doing it by hand (before a rollout, to see
 * what an upgrade will do). PostgreSQL: under the same advisory lock as a hub's start.
 */
import { existsSync } from 'node:fs';
import { checkDbKind, describeStore, isPostgres } from '../../store/open.js';
import { databaseFile } from '../../core/config.js';
import { refuseNewerSchema } from '../../store/schema-version.js';

export interface MigrateFlags {
  db?: string;
  data: string;
  dryRun?: boolean;
}

export async function migrateCommand(flags: MigrateFlags): Promise<void> {
  checkDbKind({ db: flags.db, dataDir: flags.data });
  const where = describeStore({ db: flags.db, dataDir: flags.data });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (isPostgres(flags.db)) {
    const { PostgresStore } = await import('../../store/postgres/store.js');
    const { migratePostgres } = await import('../../store/postgres/migrate.js');
    const { schemaError } = await import('../../store/postgres/url.js');
    const store = await PostgresStore.open(flags.db, { migrate: false, maxConnections: 1 });
    try {
      const result = await migratePostgres(store.pool, { dryRun: flags.dryRun }).catch((error: unknown) => {
        throw schemaError(error, flags.db as string);
      });
      for (const step of result.steps) out(`${flags.dryRun ? 'would apply' : 'applied'} ${step.version}: ${step.name}`);
      out(`${where}: ${result.steps.length === 0 ? 'up to date' : flags.dryRun ? `${result.steps.length} step(s) pending` : 'migrated'} (version ${result.version})`);
    } finally {
      await store.close();
    }
    return;
  }
  const file = flags.db || databaseFile(flags.data);
  // the steps the file lacks, read without changing it (a missing file: all of them)
  const { MIGRATIONS, openVersioned } = await import('../../store/sqlite/migrations.js');
  let version = 0;
  if (existsSync(file)) {
    const opened = openVersioned(file, { readonly: true, fileMustExist: true });
    version = opened.version;
    opened.db.close();
  }
  refuseNewerSchema('SQLite file', version, MIGRATIONS); // a dry run too
  const pending = MIGRATIONS.filter((m) => m.version > version);
  if (!existsSync(file)) out(`${flags.dryRun ? 'would create' : 'creating'} ${where}`);
  if (!flags.dryRun) {
    const { SqliteStore } = await import('../../store/sqlite/store.js');
    await new SqliteStore(file).close(); // opening applies them, in order, under SQLite's write lock
  }
  for (const step of pending) out(`${flags.dryRun ? 'would apply' : 'applied'} ${step.version}: ${step.name}`);
  const after = flags.dryRun ? version : Math.max(version, ...pending.map((m) => m.version));
  out(`${where}: ${pending.length === 0 ? 'up to date' : flags.dryRun ? `${pending.length} step(s) pending` : 'migrated'} (version ${after})`);
}
