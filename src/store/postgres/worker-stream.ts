/**
 * A worker's own lines read as a stream (`worker:<id>`), as a run's are: by seq, from the seeds'
 * `system_logs` (a seed row, which has no seq, stands in with its id, as everywhere a worker's lines
 * are read). The listing across workers (GET /api/logs) is workers.ts's.
 */
import type pg from 'pg';
import { MAX_PAGE, type LogPage, type LogQuery } from '../store.js';
import { WORKER_LAST_SEQ } from './line-seqs.js';
import { levelAtOrAbove, PLAIN_MESSAGE, recordFromSystemRow, SYSTEM_LOG_SELECT, type SystemLogRow } from './workers.js';
import { asciiFolded, foldedPattern } from './fold.js';

/** The worker a stream is the lines of (`worker:<id>`), or undefined for a run's. */
export function workerOf(stream: string): string | undefined {
  return stream.startsWith('worker:') ? stream.slice('worker:'.length) : undefined;
}

/** The highest seq a worker's lines have had, those retention deleted included (line-seqs.ts). */
export async function workerLastSeq(db: pg.Pool, workerId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT ${WORKER_LAST_SEQ('$1')} AS n`, [workerId]);
  return rows[0]?.n ?? 0;
}

/**
 * A page of a worker's lines, as queryLogs gives a run's; `withCount`: with the count of all its
 * lines (a scan of its rows: only a page that shows it asks).
 */
export async function queryWorkerLines(db: pg.Pool, workerId: string, query: LogQuery, withCount = true): Promise<LogPage> {
  const forward = query.limit !== undefined;
  const wanted = Math.min(query.limit ?? query.tail ?? 500, MAX_PAGE);
  const where = [`source_type = 'worker'`, 'source_id = $1'];
  const params: unknown[] = [workerId];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    where.push(condition.replace('?', `$${params.length}`));
  };
  const seq = 'COALESCE(seq, id)';
  if (query.after !== undefined) add(`${seq} > ?`, query.after);
  if (query.before !== undefined) add(`${seq} < ?`, query.before);
  if (query.since !== undefined) add(`timestamp >= (TIMESTAMPTZ 'epoch' + ?::bigint * INTERVAL '1 microsecond')`, query.since);
  if (query.level !== undefined) add(...levelAtOrAbove(query.level));
  if (query.q) add(`${asciiFolded(PLAIN_MESSAGE)} LIKE ?`, foldedPattern(query.q));
  params.push(wanted + 1);
  const { rows } = await db.query<SystemLogRow>(
    `${SYSTEM_LOG_SELECT} WHERE ${where.join(' AND ')} ORDER BY ${seq} ${forward ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
    params,
  );
  const truncated = rows.length > wanted;
  if (truncated) rows.pop();
  if (!forward) rows.reverse();
  const records = rows.map(recordFromSystemRow);
  if (!withCount) return { records, total_lines: 0, truncated };
  const count = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM system_logs WHERE source_type = 'worker' AND source_id = $1`, [workerId]);
  return { records, total_lines: Number(count.rows[0]?.n ?? 0), truncated };
}
