/**
 * Numbered migrations of the SQLite file, applied in order on open. `PRAGMA user_version` holds
 * the number of the last one applied; a step runs only when the file's version is below it.
 * Numbers: 1–9 for the runs and workers tables, 10 and up for the line store.
 *
 * A step may commit in several transactions (a big table converted in bounded pieces): it must
 * then be safe to run again from where a crash left it, since the version is set after it ends.
 * Several processes may open the file at once: the version is read again under the write lock
 * before each step, so a step another process just applied is not applied twice.
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { migrateLinesToChunks } from './migrate-lines.js';
import { addRunControlColumns } from './migrate-runs.js';
import { addStreamSeqs } from './migrate-seqs.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 10, name: 'lines: one row per line (log_lines) → compressed chunks', up: migrateLinesToChunks },
  // 11, not in 1–9: files already at 10 (made by the line store before this step existed) must get it too
  { version: 11, name: 'runs: leases, cancel requests, lost, re-runs', up: addRunControlColumns },
  { version: 12, name: "streams: the highest seq retention deleted (a worker's seq never goes back)", up: addStreamSeqs },
];

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies the migrations the file has not had yet, in order; returns the versions applied. */
export function runMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (userVersion(db) >= migration.version) continue;
    migration.up(db);
    db.transaction(() => {
      if (userVersion(db) < migration.version) db.pragma(`user_version = ${migration.version}`);
    }).immediate();
    applied.push(migration.version);
  }
  return applied;
}

/**
 * The file's version and this release's when a store of an older release is there (its tables and
 * a version below the last step), else undefined: a new or empty file, or one up to date (or newer,
 * which the store refuses by itself).
 */
export function sqliteSchemaBehind(file: string): { version: number; latest: number } | undefined {
  const { db, version } = openVersioned(file, { fileMustExist: true });
  try {
    const latest = Math.max(...MIGRATIONS.map((m) => m.version));
    if (version >= latest) return undefined;
    const hasRuns = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get() !== undefined;
    return hasRuns ? { version, latest } : undefined;
  } finally {
    db.close();
  }
}

/**
 * The file opened and its schema version read: what fails there (a file that is not SQLite, a
 * directory) says which file, where better-sqlite3 says only "file is not a database" or "disk
 * I/O error".
 */
export function openVersioned(file: string, options?: Database.Options): { db: Database.Database; version: number } {
  let db: Database.Database | undefined;
  try {
    if (file !== ':memory:' && existsSync(file) && statSync(file).isDirectory()) throw new Error('a directory (--db names the file, --data its directory)');
    db = new Database(file, options);
    return { db, version: userVersion(db) };
  } catch (error) {
    db?.close();
    if ((error as NodeJS.ErrnoException | undefined)?.code === 'ERR_DLOPEN_FAILED') throw addonError(error as Error);
    throw new Error(`SQLite file ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * better-sqlite3's native addon did not load: nothing is wrong with the file. The usual cause is a
 * switch of Node version (20 and 24 differ in ABI) after `npm install`, which leaves an addon
 * built for the other one; the fix is a rebuild with the Node that runs runlog.
 */
function addonError(error: Error): Error {
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  return new Error(
    `better-sqlite3's native addon does not load in Node ${process.version} (${message}); ` +
      'run `npm rebuild better-sqlite3` with this Node',
    { cause: error },
  );
}
