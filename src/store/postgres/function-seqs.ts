/**
 * Migration 13: the database numbers the worker lines that come without a seq (the seeds'
 * `func_worker_heartbeat_with_logs`, the seed's own version of it, an INSERT by hand), as a hub
 * numbers a heartbeat's lines: per worker, one more than the highest seq the worker's lines have
 * had (deleted ones included: `system_log_seqs`), under the same per-stream lock (stream-locks.ts:
 * `hashtextextended('worker:<id>', 13)`). Issue 10: a worker's lines are one stream to the hub
 * whichever way they came.
 *
 * Before, such rows had no seq and their row id (shared by every worker) stood in. A function
 * call committed while a hub stored a heartbeat of the same worker (the hub had read the worker's
 * last seq, not yet written its lines) got an id above the heartbeat's seqs, or equal to one of
 * them: `runlog logs worker:<id> -f` and an SSE viewer resuming with Last-Event-ID skipped the
 * heartbeat's lines as seen, and two lines had one id.
 *
 * How: a BEFORE INSERT trigger, for rows with no seq only (a hub's rows carry theirs, and the hub
 * holds the lock already, on another connection: waiting for it there would never end). The lock
 * is a transaction lock, held until the row commits, so lines are numbered in the order they
 * commit. SECURITY DEFINER: a worker's role may hold only the seed's rights (INSERT on
 * system_logs), not the SELECT the numbering needs. A transaction at REPEATABLE READ or above sees
 * no line committed after it began: its INSERT may then fail on the unique (stream, seq) index,
 * never store a line twice or out of order.
 *
 * The function takes the lock first, before it touches the worker's row: a hub holding the lock
 * never waits on that row (its own heartbeat updated it earlier, in a statement of its own), so
 * the two cannot wait on each other.
 *
 * Rows stored before without a seq are numbered in place: their row id, the seq the API showed
 * for them (a follower's or a viewer's position stays true), unless another line of the worker
 * holds that seq already; those few go after the worker's last, in id order. The table is locked
 * against inserts meanwhile, so no seq-less row is left behind.
 */
import { WORKER_ID_CHECK } from './worker-ids.js';

/** The numbering lock of a source's stream, as stream-locks.ts takes it for `worker:<id>`. */
const STREAM_LOCK = (sourceType: string, sourceId: string) => `pg_advisory_xact_lock(hashtextextended(${sourceType} || ':' || ${sourceId}, 13))`;

const NUMBER_ROWS = `
CREATE OR REPLACE FUNCTION runlog_number_system_log() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  PERFORM ${STREAM_LOCK('NEW.source_type', 'NEW.source_id')};
  -- a statement of its own, after the lock: it sees what the lock's last holder committed
  NEW.seq := GREATEST(
    (SELECT MAX(COALESCE(seq, id)) FROM system_logs WHERE source_type = NEW.source_type AND source_id = NEW.source_id),
    (SELECT last_seq FROM system_log_seqs WHERE source_type = NEW.source_type AND source_id = NEW.source_id),
    0) + 1;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS system_logs_number ON system_logs;
CREATE TRIGGER system_logs_number BEFORE INSERT ON system_logs
  FOR EACH ROW WHEN (NEW.seq IS NULL) EXECUTE FUNCTION runlog_number_system_log();
`;

const NUMBER_EXISTING = `
UPDATE system_logs s SET seq = s.id
WHERE s.seq IS NULL
  AND NOT EXISTS (SELECT 1 FROM system_logs t WHERE t.source_type = s.source_type AND t.source_id = s.source_id AND t.seq = s.id);
UPDATE system_logs s SET seq = n.seq
FROM (
  SELECT r.id, GREATEST(
      (SELECT MAX(m.seq) FROM system_logs m WHERE m.source_type = r.source_type AND m.source_id = r.source_id),
      (SELECT k.last_seq FROM system_log_seqs k WHERE k.source_type = r.source_type AND k.source_id = r.source_id),
      0) + ROW_NUMBER() OVER (PARTITION BY r.source_type, r.source_id ORDER BY r.id) AS seq
  FROM system_logs r WHERE r.seq IS NULL
) n
WHERE s.id = n.id;
`;

/** The function's first statements (after the id check): the worker's numbering lock. */
export const FUNCTION_LOCK = `  -- the lock a hub numbers this worker's lines under, before the worker's row (function-seqs.ts)
  PERFORM ${STREAM_LOCK("'worker'", 'worker_id_param')};
`;

export const numberedSystemLogs = (heartbeatFunction: (check: string) => string) => `
-- no INSERT between numbering the old rows and the trigger taking over (SHARE ROW EXCLUSIVE: reads go on)
LOCK TABLE system_logs IN SHARE ROW EXCLUSIVE MODE;
${NUMBER_ROWS}
${NUMBER_EXISTING}
${heartbeatFunction(WORKER_ID_CHECK + FUNCTION_LOCK)}
`;
