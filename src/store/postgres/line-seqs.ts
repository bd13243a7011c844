/**
 * Migration 12: `system_log_seqs`, the highest seq each source's lines have had in `system_logs`,
 * kept when they are deleted. A worker's stream outlives its lines (48 h of them by default): once
 * retention had deleted them all, the hub numbered the worker's next line 1 again, and a follower
 * or an SSE viewer resuming with Last-Event-ID skipped the new lines as seen.
 *
 * A line's seq here is its `seq` (since migration 13 every row has one: function-seqs.ts), or its
 * row `id` for a row without (the id stands in, as everywhere a worker's lines are read). A trigger after
 * each DELETE statement keeps the highest of the rows it deleted, so every way of deleting counts:
 * the hub's retention in batches, the seeds' `cleanup_old_system_logs()`, a DELETE by hand (and a
 * TRUNCATE, by a trigger of its own: migration 15). The
 * upsert takes the sources in order, so two deletes at once cannot deadlock on these rows.
 */
/** The upsert both triggers run: the highest seq of each source among `rows` kept in system_log_seqs, sources in order. */
const keepHighestOf = (rows: string) => `INSERT INTO system_log_seqs AS k (source_type, source_id, last_seq)
  SELECT source_type, source_id, MAX(COALESCE(seq, id)) FROM ${rows} GROUP BY source_type, source_id ORDER BY source_type, source_id
  ON CONFLICT (source_type, source_id) DO UPDATE SET last_seq = GREATEST(k.last_seq, EXCLUDED.last_seq);`;

export const SYSTEM_LOG_SEQS = `
CREATE TABLE IF NOT EXISTS system_log_seqs (
  source_type TEXT NOT NULL,
  source_id   TEXT NOT NULL,
  last_seq    BIGINT NOT NULL,
  PRIMARY KEY (source_type, source_id)
);

CREATE OR REPLACE FUNCTION runlog_keep_system_log_seqs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  ${keepHighestOf('old_rows')}
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS system_logs_keep_seqs ON system_logs;
CREATE TRIGGER system_logs_keep_seqs AFTER DELETE ON system_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION runlog_keep_system_log_seqs();
`;

/**
 * Migration 14: the trigger's function runs as its owner (the hubs' role, which made
 * system_log_seqs), not as whoever deletes: a role with only the seeds' rights (DELETE on
 * system_logs, running cleanup_old_system_logs() from a cron job) was refused ("permission denied
 * for table system_log_seqs") and its cleanup failed. The search_path is the one it was made with.
 */
export const SYSTEM_LOG_SEQS_AS_OWNER = `
ALTER FUNCTION runlog_keep_system_log_seqs() SECURITY DEFINER SET search_path FROM CURRENT;
`;

/**
 * Migration 15: TRUNCATE fires no DELETE trigger, so `TRUNCATE system_logs` (an operator clearing
 * the table, a seed's maintenance script) lost every worker's highest seq and the next line was
 * numbered 1 again. A trigger before TRUNCATE keeps them first: one pass over the table, as rare
 * as the TRUNCATE itself. Runs as its owner, as the DELETE one does (migration 14).
 */
export const SYSTEM_LOG_SEQS_ON_TRUNCATE = `
CREATE OR REPLACE FUNCTION runlog_keep_system_log_seqs_truncated() RETURNS trigger LANGUAGE plpgsql
  SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  ${keepHighestOf('system_logs')}
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS system_logs_keep_seqs_truncated ON system_logs;
CREATE TRIGGER system_logs_keep_seqs_truncated BEFORE TRUNCATE ON system_logs
  FOR EACH STATEMENT EXECUTE FUNCTION runlog_keep_system_log_seqs_truncated();
`;

/** The highest seq a worker's lines have had, deleted ones included (0: none). */
export const WORKER_LAST_SEQ = (workerId: string) => `GREATEST(
  (SELECT MAX(COALESCE(seq, id)) FROM system_logs s WHERE s.source_type = 'worker' AND s.source_id = ${workerId}),
  (SELECT k.last_seq FROM system_log_seqs k WHERE k.source_type = 'worker' AND k.source_id = ${workerId}), 0)`;
