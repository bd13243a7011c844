/**
 * Migration 10: the release before chunks kept one row per line in `log_lines`. Its rows become
 * chunks stream by stream, in transactions of at most LINES_PER_TRANSACTION lines that each
 * delete the rows they converted: a crash leaves every line in exactly one of the two tables,
 * and the next open goes on. The emptied table is dropped at the end. Runs' line_count already
 * counts these lines: it is left as it is.
 */
import type Database from 'better-sqlite3';
import { recordFromRow, type LineRow } from '../rows.js';
import { SqliteLines } from './lines.js';

const LINES_PER_TRANSACTION = 50_000;

export function migrateLinesToChunks(db: Database.Database): void {
  const exists = () => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_lines'`).get() !== undefined;
  if (!exists()) return;
  const lines = new SqliteLines(db);
  const nextStream = db.prepare('SELECT stream FROM log_lines LIMIT 1').pluck();
  const read = db.prepare('SELECT * FROM log_lines WHERE stream = ? ORDER BY seq LIMIT ?');
  const remove = db.prepare('DELETE FROM log_lines WHERE stream = ? AND seq <= ?');
  const convert = db.transaction(() => {
    // another process sharing the file may have finished the conversion meanwhile
    if (!exists()) return false;
    const stream = nextStream.get() as string | undefined;
    if (stream === undefined) return false;
    const rows = read.all(stream, LINES_PER_TRANSACTION) as LineRow[];
    const records = rows.map(recordFromRow);
    const last = records[records.length - 1];
    if (last !== undefined) {
      lines.append(stream, records);
      remove.run(stream, last.seq);
    }
    return true;
  });
  while (convert.immediate()) {
    // the next piece, in its own transaction
  }
  db.exec('DROP TABLE IF EXISTS log_lines');
}
