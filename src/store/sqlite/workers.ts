/** SQLite: workers, their heartbeats and their own lines (the seeds' `system_logs` view). */
import type Database from 'better-sqlite3';
import { statement } from './statements.js';
import { badRequest } from '../../core/errors.js';
import { microsToIso, type LogRecord } from '../../core/record.js';
import { parseJson, systemLogFromRecord } from '../rows.js';
import type { SqliteLines } from './lines.js';
import { queryStream, scanNewest } from './reads.js';
import { newestFirst } from '../search-order.js';
import {
  MAX_PAGE,
  workerStatus,
  workerStream,
  type SystemLog,
  type SystemLogFilter,
  type Worker,
  type WorkerHeartbeat,
  type WorkerLineRef,
  type WorkerState,
} from '../store.js';

interface WorkerRow {
  id: string;
  state: string;
  current_task_id: string | null;
  vram_total_mb: number | null;
  vram_used_mb: number | null;
  gpus: string;
  heartbeat_interval_s: number;
  first_seen: number;
  last_heartbeat: number;
  dropped_logs: number;
  stats: string | null;
  last_seq: number | null;
}

export function recordHeartbeat(db: Database.Database, hb: WorkerHeartbeat): void {
  statement(
    db,
    `INSERT INTO workers (id, state, current_task_id, vram_total_mb, vram_used_mb, gpus, heartbeat_interval_s, first_seen, last_heartbeat, dropped_logs, stats)
     VALUES (@id, @state, @current_task_id, @vram_total_mb, @vram_used_mb, @gpus, @heartbeat_interval_s, @received_at, @received_at, @dropped_logs, @stats)
     ON CONFLICT (id) DO UPDATE SET
       state = excluded.state, current_task_id = excluded.current_task_id,
       vram_total_mb = COALESCE(excluded.vram_total_mb, vram_total_mb), vram_used_mb = COALESCE(excluded.vram_used_mb, vram_used_mb),
       gpus = excluded.gpus, heartbeat_interval_s = excluded.heartbeat_interval_s, last_heartbeat = excluded.last_heartbeat,
       dropped_logs = MIN(dropped_logs + excluded.dropped_logs, 9007199254740991), stats = COALESCE(excluded.stats, stats)`,
  ).run({ ...hb, gpus: JSON.stringify(hb.gpus), stats: hb.stats === null ? null : JSON.stringify(hb.stats) });
}

export function touchWorker(db: Database.Database, id: string, intervalS: number, now: number): void {
  statement(
    db,
    `INSERT INTO workers (id, state, heartbeat_interval_s, first_seen, last_heartbeat) VALUES (?, 'busy', ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat`,
  ).run(id, intervalS, now, now);
}

export function clearCurrentTask(db: Database.Database, workerId: string, taskIds: readonly string[]): void {
  const set = statement(db, `UPDATE workers SET current_task_id = NULL WHERE id = ? AND current_task_id = ?`);
  for (const taskId of taskIds) set.run(workerId, taskId);
}

// last_seq: lines retention deleted count too (stream_seqs): a follower starts after it
const WORKER_SELECT = `SELECT w.*, max(
    COALESCE((SELECT MAX(last_seq) FROM chunks WHERE stream = 'worker:' || w.id), 0),
    COALESCE((SELECT last_seq FROM stream_seqs WHERE stream = 'worker:' || w.id), 0)) AS last_seq FROM workers w`;

export function getWorker(db: Database.Database, id: string, now: number): Worker | undefined {
  const row = statement(db, `${WORKER_SELECT} WHERE w.id = ?`).get(id) as WorkerRow | undefined;
  return row === undefined ? undefined : workerFromRow(row, now);
}

export function listWorkers(db: Database.Database, now: number): Worker[] {
  return (statement(db, `${WORKER_SELECT} ORDER BY w.id`).all() as WorkerRow[]).map((row) => workerFromRow(row, now));
}

function workerFromRow(row: WorkerRow, now: number): Worker {
  const state = row.state as WorkerState;
  return {
    id: row.id,
    status: workerStatus(state, row.last_heartbeat, row.heartbeat_interval_s, now),
    state,
    current_task_id: row.current_task_id,
    vram_total_mb: row.vram_total_mb,
    vram_used_mb: row.vram_used_mb,
    gpus: parseJson(row.gpus) as unknown[],
    heartbeat_interval_s: row.heartbeat_interval_s,
    first_seen: microsToIso(row.first_seen),
    last_heartbeat: microsToIso(row.last_heartbeat),
    last_heartbeat_age_s: Math.max(0, (now - row.last_heartbeat) / 1e6),
    dropped_logs: row.dropped_logs,
    stats: row.stats === null ? null : (parseJson(row.stats) as Record<string, unknown>),
    last_seq: row.last_seq ?? 0,
  };
}

/**
 * Worker lines across workers: the streams `worker:*`, newest first, as `system_logs` rows, in the
 * order of search (search-order.ts: timestamp, stream, seq, each descending), so a worker's lines
 * of one µs list alike in GET /api/logs and GET /api/search. A total order: `before=<id>` pages
 * exactly.
 */
export async function querySystemLogs(lines: SqliteLines, filter: SystemLogFilter): Promise<SystemLog[]> {
  if (filter.source_type !== undefined && filter.source_type !== 'worker') return [];
  const where =
    filter.source_id !== undefined
      ? { sql: 'stream = ?', params: [workerStream(filter.source_id)] }
      : // every stream that starts with `worker:` (';' sorts right after ':')
        { sql: 'stream >= ? AND stream < ?', params: ['worker:', 'worker;'] };
  const task = filter.task_id;
  const cursor = filter.before === undefined ? undefined : await storedLine(lines, filter.before);
  // after the cursor: at or before its time (which narrows the chunks read), then the order decides
  const until = cursor === undefined ? filter.until : Math.min(filter.until ?? Infinity, cursor.timestamp);
  const page = await scanNewest(
    lines,
    where,
    {
      ...(filter.since === undefined ? {} : { since: filter.since }),
      ...(until === undefined ? {} : { until }),
      ...(filter.level === undefined ? {} : { level: filter.level }),
      ...(filter.q ? { q: filter.q } : {}),
    },
    Math.min(filter.limit ?? 100, MAX_PAGE),
    (record) => (task === undefined || record.task_id === task) && (cursor === undefined || newestFirst(cursor, record) < 0),
    newestFirst,
  );
  return page.records.map(systemLogFromRecord);
}

/** The line a `before` cursor names; a 400 naming `before` when it is not stored. */
async function storedLine(lines: SqliteLines, ref: WorkerLineRef): Promise<LogRecord> {
  const [record] = (await queryStream(lines, workerStream(ref.source_id), { after: ref.seq - 1, limit: 1 })).records;
  if (record?.seq !== ref.seq) throw badRequest('before', `no line worker:${ref.source_id}/${ref.seq} is stored (never, or deleted by retention)`);
  return record;
}
