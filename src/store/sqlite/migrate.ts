/** Brings an SQLite file to the current schema: see MIGRATIONS in schema.ts. */
import type Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA } from './schema.js';

export function migrate(db: Database.Database): void {
  db.exec(SCHEMA);
  if ((db.pragma('user_version', { simple: true }) as number) >= MIGRATIONS.length) return;
  db.transaction(() => {
    // inside the write lock: another process may have migrated since we looked
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let step = version; step < MIGRATIONS.length; step++) db.exec(MIGRATIONS[step]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
