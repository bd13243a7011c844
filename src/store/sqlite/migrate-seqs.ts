/**
 * Migration 12: `stream_seqs`, the highest seq each stream has had, kept when retention deletes
 * its lines. A worker's stream outlives its lines (48 h of them by default): once they were all
 * deleted, its next line was numbered 1 again, and a follower or an SSE viewer resuming with
 * Last-Event-ID skipped the new lines as seen. The hub numbers after max(last stored, this).
 * A new table only, in one write transaction (safe to run again, see migrations.ts).
 */
import type Database from 'better-sqlite3';

export function addStreamSeqs(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS stream_seqs (
      stream    TEXT PRIMARY KEY,
      last_seq  INTEGER NOT NULL  -- the highest seq of the stream's lines retention deleted
    ) WITHOUT ROWID;`);
  }).immediate();
}
