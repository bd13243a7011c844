/**
 * openStore: the one place that picks the store from the configuration, for every command that
 * opens one. `postgres://…` (or `postgresql://…`): PostgreSQL, migrated on open; another value: a
 * SQLite file; none: the SQLite file in the data directory (the default).
 */
import { existsSync } from 'node:fs';
import { databaseFile, isDefaultDataDir } from '../core/config.js';
import type { Store } from './store.js';
import { redactUrl } from '../core/redact.js';

export interface StoreConfig {
  /** a PostgreSQL URL or a SQLite file (`--db`, RUNLOG_DB) */
  db?: string;
  dataDir: string;
  /**
   * Only to read (`runlog runs|logs|workers --db`): a PostgreSQL database is not migrated, and
   * one without runlog's schema, or behind this release's, is an error saying so, not a schema
   * made by a read; a SQLite file given with `--db` that does not exist is an error too (a typo
   * there made an empty store, and its directories, and answered "nothing"), and so is one an
   * older release made (a read migrated it under that release's running hub).
   */
  readOnly?: boolean;
  /**
   * Changes what is there, makes nothing (`runlog cleanup`, `token list|revoke`): a store that
   * does not exist is not made, as for a read (the default place before anything ran there is an
   * empty store in memory; a named one is an error), but an existing one is opened as usual.
   */
  existing?: boolean;
}

export function isPostgres(db: string | undefined): db is string {
  // a URL's scheme is case-insensitive (RFC 3986): POSTGRES:// is not a SQLite file name
  return db !== undefined && /^postgres(ql)?:\/\//i.test(db);
}

/** A URL of another kind (mysql://, a typo like postgress://) is not a SQLite file name to create. */
export function checkDbKind(config: StoreConfig): void {
  if (config.db !== undefined && !isPostgres(config.db) && /^[a-z][a-z0-9+.-]*:\/\//i.test(config.db)) {
    throw new Error(`--db ${describeStore(config)}: expected postgres:// or postgresql://, or a SQLite file path`);
  }
}

export async function openStore(config: StoreConfig): Promise<Store> {
  if (isPostgres(config.db)) {
    const { PostgresStore } = await import('./postgres/store.js');
    if (!config.readOnly) return PostgresStore.open(config.db);
    const store = await PostgresStore.open(config.db, { migrate: false });
    try {
      await store.assertMigrated(describeStore(config));
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }
  checkDbKind(config);
  const file = sqliteFile(config);
  const makesNone = config.readOnly === true || config.existing === true;
  if (makesNone && file !== config.db && !existsSync(config.dataDir)) {
    // the default place before anything ran there (`runlog runs` on a fresh checkout): nothing to
    // show, and nothing made; an empty store in memory answers it
    if (isDefaultDataDir(config.dataDir)) return new (await import('./sqlite/store.js')).SqliteStore(':memory:');
    // `runlog runs --data <typo>` made the folder and an empty store there, and answered "nothing"
    throw new Error(`no runlog data at ${config.dataDir}: no such directory (this command does not create one; \`runlog run\` or a hub there does)`);
  }
  if (makesNone && file === config.db && !existsSync(file)) {
    throw new Error(`no store at ${file}: no such file (this command does not create one; a hub or \`runlog migrate --db …\` does)`);
  }
  if (config.readOnly && existsSync(file)) {
    // a read does not upgrade a file either: the hub of an older release may still be writing it
    // (step 10 drops the table its every line goes to)
    const { sqliteSchemaBehind } = await import('./sqlite/migrations.js');
    const behind = sqliteSchemaBehind(file);
    if (behind !== undefined) {
      throw new Error(
        `${file} is at schema version ${behind.version}, behind this runlog's (${behind.latest}): stop its hub, then run \`runlog migrate --db ${file}\` or start this release's hub on it`,
      );
    }
  }
  const { SqliteStore } = await import('./sqlite/store.js');
  return new SqliteStore(file);
}

/** The file of a SQLite store: `--db` when given, else runlog.db in the data directory. */
export function sqliteFile(config: StoreConfig): string {
  return config.db !== undefined && config.db !== '' ? config.db : databaseFile(config.dataDir);
}

/** Where a store is, for messages: the URL without its password, or the file. */
export function describeStore(config: StoreConfig): string {
  return config.db !== undefined && config.db !== '' ? redactUrl(config.db) : databaseFile(config.dataDir);
}
