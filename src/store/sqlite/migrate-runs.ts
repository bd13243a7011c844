/**
 * Migration 11: the runs table learns leases, cancel requests, the "runner lost" mark and
 * re-runs (issue 9). Only columns added (ALTER TABLE … ADD COLUMN, NULL or a default: no row is
 * rewritten), in one write transaction; each column is added only when missing, so the step is
 * safe to run again (see migrations.ts).
 */
import type Database from 'better-sqlite3';

const COLUMNS: readonly [name: string, definition: string][] = [
  ['lease_s', 'INTEGER'], // how often the writer renews (NULL: a run from before leases, never expired)
  ['heard_at', 'INTEGER'], // µs: the writer's last sign of life (creation, claim, lease renewal, lines)
  ['lost', 'INTEGER NOT NULL DEFAULT 0'], // failed by lease expiry: the writer's real end may replace it
  ['cancel_by', 'TEXT'], // who asked to cancel the run
  ['cancel_at', 'INTEGER'], // µs: when
  ['rerun_of', 'TEXT'], // the run this one re-runs
];

export function addRunControlColumns(db: Database.Database): void {
  db.transaction(() => {
    const present = new Set((db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((column) => column.name));
    for (const [name, definition] of COLUMNS) if (!present.has(name)) db.exec(`ALTER TABLE runs ADD COLUMN ${name} ${definition}`);
    db.exec(`CREATE INDEX IF NOT EXISTS runs_leased ON runs (status, heard_at) WHERE lease_s IS NOT NULL;
             CREATE INDEX IF NOT EXISTS runs_by_rerun_of ON runs (rerun_of) WHERE rerun_of IS NOT NULL;`);
  }).immediate();
}
