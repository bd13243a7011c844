/**
 * Retention at scale: deletion in bounded batches. Each statement deletes at most `batchRows`
 * rows (found through an index: system_logs by timestamp, chunks by stream), commits, and the
 * next waits `pauseMs`: no statement holds its row locks or its WAL burst for long, readers and
 * writers interleave between batches, and autovacuum keeps up. Chosen over daily partitions
 * because `system_logs` is the seed's own table, which the seed's function and queries use as a
 * plain table (a partitioned one would change its primary key). Measured in bench/postgres.js.
 */
import type pg from 'pg';

export interface BatchOptions {
  /** rows per DELETE (default 10,000) */
  batchRows?: number;
  /** ms between two batches (default 20) */
  pauseMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `statement` (a DELETE of at most `batchRows` rows, the last parameter) until it deletes
 * fewer. It answers its rows deleted as `rowCount`, or as a row `{ n, lines }` when it says more.
 * A statement that walks an index in order also answers `{ cursor }`, where its batch ended: the
 * next batch gets it as one more parameter and starts there (see deleteSystemLogsBefore).
 */
async function inBatches(db: pg.Pool, statement: string, params: unknown[], options: BatchOptions = {}, cursor?: unknown): Promise<number> {
  const batchRows = options.batchRows ?? 10_000;
  const pauseMs = options.pauseMs ?? 20;
  let total = 0;
  for (;;) {
    const args = cursor === undefined ? [...params, batchRows] : [...params, batchRows, cursor];
    const result = await db.query<{ n: number; lines: number; cursor: unknown }>(statement, args);
    const counted = result.rows[0];
    const deleted = counted?.n ?? result.rowCount ?? 0;
    total += counted?.lines ?? deleted;
    if (deleted < batchRows) return total;
    if (cursor !== undefined) cursor = counted?.cursor ?? cursor;
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

/** The time `$n` holds, in µs since the epoch. */
const at = (n: number) => `(TIMESTAMPTZ 'epoch' + $${n}::bigint * INTERVAL '1 microsecond')`;
const CUTOFF = at(1);

/**
 * Worker lines (the seed's `system_logs`, source_type 'worker') written before `before` (µs).
 *
 * A line the seed's function or another tool stored at 'infinity' or '-infinity' has no time of its
 * own: by its timestamp alone, an 'infinity' line was never deleted (and stayed the newest line for
 * ever) and a '-infinity' one went at the first pass. Such a line goes by when it was stored
 * instead: its `created_at` (the seed's column, NOW() by default), or, when that is missing or not
 * finite either, by id order: once the newest line past the cutoff was stored after it (a larger
 * id). Every lookup goes through the timestamp index (the newest line past the cutoff too, not a
 * max(id) that would walk the primary key back through the retention's worth of lines); the
 * second statement's range leaves out '-infinity'.
 */
export async function deleteSystemLogsBefore(db: pg.Pool, before: number, options?: BatchOptions): Promise<number> {
  // the non-finite first: the id horizon is a line the second statement deletes
  const timeless = await inBatches(
    db,
    `DELETE FROM system_logs WHERE id IN (
       SELECT id FROM system_logs
       WHERE timestamp IN ('infinity', '-infinity') AND source_type = 'worker'
         AND CASE WHEN isfinite(created_at) THEN created_at < ${CUTOFF}
                  ELSE id < (SELECT id FROM system_logs
                             WHERE timestamp > '-infinity' AND timestamp < ${CUTOFF} AND source_type = 'worker'
                             ORDER BY timestamp DESC LIMIT 1) END
       LIMIT $2)`,
    [before],
    options,
  );
  // in timestamp order, each batch from where the last one ended: a batch that looked for old lines
  // from the start of the index again would walk every entry the batches before it deleted (dead
  // until vacuum), and the last batches of 10M lines took seconds each
  const timed = await inBatches(
    db,
    `WITH doomed AS (
       SELECT id FROM system_logs
       WHERE timestamp > '-infinity' AND timestamp >= COALESCE(${at(3)}, '-infinity') AND timestamp < ${CUTOFF} AND source_type = 'worker'
       ORDER BY timestamp LIMIT $2)
     , gone AS (DELETE FROM system_logs WHERE id IN (SELECT id FROM doomed) RETURNING timestamp)
     SELECT COUNT(*)::int AS n, (EXTRACT(EPOCH FROM MAX(timestamp)) * 1000000)::bigint::text AS cursor FROM gone`,
    [before],
    options,
    null, // the first batch starts at the oldest line
  );
  return timeless + timed;
}

/** Lines of streams starting with `prefix` in chunks whose newest line is before `before` (µs). */
export function deleteChunksBefore(db: pg.Pool, prefix: string, before: number, options?: BatchOptions): Promise<number> {
  return inBatches(
    db,
    `WITH gone AS (
       DELETE FROM run_chunks WHERE (stream, first_seq) IN (
         SELECT stream, first_seq FROM run_chunks WHERE stream LIKE $2 AND max_ts < $1 LIMIT $3)
       RETURNING stream, count)
     , counted AS (
       UPDATE runs SET line_count = runs.line_count - g.n FROM (SELECT stream, SUM(count) AS n FROM gone GROUP BY stream) g
       WHERE runs.id = g.stream RETURNING 1)
     SELECT (SELECT COUNT(*) FROM gone)::int AS n, (SELECT COALESCE(SUM(count), 0) FROM gone)::int AS lines`,
    [before, `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`],
    options,
  );
}

/** Ended runs completed before `before` (µs): their chunks in batches, then the runs. */
export async function deleteRunsBefore(db: pg.Pool, before: number, options: BatchOptions = {}): Promise<number> {
  let runs = 0;
  for (;;) {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM runs WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < $1 ORDER BY completed_at LIMIT 100`,
      [before],
    );
    if (rows.length === 0) return runs;
    const ids = rows.map((row) => row.id);
    // chunks first: a hub stopped half-way leaves old runs with fewer lines, never lines without a run
    await inBatches(
      db,
      `DELETE FROM run_chunks WHERE (stream, first_seq) IN (SELECT stream, first_seq FROM run_chunks WHERE stream = ANY($1) LIMIT $2)`,
      [ids],
      { ...options, batchRows: Math.max(1, Math.floor((options.batchRows ?? 10_000) / 100)) },
    );
    await db.query('DELETE FROM run_writers WHERE run_id = ANY($1)', [ids]);
    const deleted = await db.query('DELETE FROM runs WHERE id = ANY($1)', [ids]);
    runs += deleted.rowCount ?? 0;
  }
}
