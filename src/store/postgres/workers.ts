/**
 * PostgreSQL: workers and their own lines, in the seeds' tables. A worker's line is a row of
 * `system_logs` (as the seed has it), whether the hub wrote it from an HTTP heartbeat or the worker
 * called `func_worker_heartbeat_with_logs` itself; runlog's `seq` column keeps a resent line once.
 */
import type pg from 'pg';
import { LEVEL_ALIASES, LEVEL_RANK, LEVELS, levelFromNumber, microsToIso, parseLevel, type Level, type LogRecord, type Phase, type Source } from '../../core/record.js';
import { badRequest, conflict } from '../../core/errors.js';
import { metadataObject, systemLogFromRecord } from '../rows.js';
import { WORKER_LAST_SEQ } from './line-seqs.js';
import { asciiFolded, foldedPattern } from './fold.js';
import {
  MAX_PAGE,
  workerStatus,
  type SystemLog,
  type SystemLogFilter,
  type Worker,
  type WorkerHeartbeat,
  type WorkerLineRef,
  type WorkerState,
} from '../store.js';

/**
 * A TIMESTAMPTZ as µs since the epoch, clamped to ±(2^53 − 1) µs (the years 1685 to 2255): a row
 * the seed's function or another tool wrote with 'infinity' (or a year a JavaScript Date cannot
 * show) made the cast to bigint fail, and every read that met it answered 500. The clamp keeps such
 * a row readable, at the edge of time, and every µs value an exact JavaScript number.
 */
const MICROS = (column: string) =>
  `GREATEST(LEAST(EXTRACT(EPOCH FROM ${column}) * 1000000, ${Number.MAX_SAFE_INTEGER}), ${-Number.MAX_SAFE_INTEGER})::bigint`;
const FROM_MICROS = (param: string) => `(TIMESTAMPTZ 'epoch' + ${param}::bigint * INTERVAL '1 microsecond')`;

/** A value a column of an adopted table refuses: a CHECK, a foreign key, its type (uuid), its length. */
const ORCHESTRATOR_VALUE_REFUSED = new Set(['23514', '23503', '22P02', '22001']);

/**
 * A heartbeat → the worker's row. UPDATE first, INSERT only for a worker new to the table: an
 * adopted table (the orchestrator's own) may hold NOT NULL columns runlog cannot fill, which
 * PostgreSQL checks even on an INSERT … ON CONFLICT that ends as an update.
 */
export async function recordHeartbeat(db: pg.Pool, hb: WorkerHeartbeat): Promise<void> {
  const values = [
    hb.id,
    hb.state === 'offline' ? 'offline' : 'active',
    hb.state,
    hb.current_task_id,
    hb.vram_total_mb === null ? null : Math.round(hb.vram_total_mb),
    hb.vram_used_mb === null ? null : Math.round(hb.vram_used_mb),
    JSON.stringify(hb.gpus),
    hb.heartbeat_interval_s,
    hb.received_at,
    hb.dropped_logs,
    hb.stats === null ? null : JSON.stringify(hb.stats),
  ];
  const update = (row: unknown[], own: boolean) =>
    db.query(
      `UPDATE workers AS w SET status = CASE WHEN $12::boolean THEN $2 ELSE w.status END, state = $3,
         current_task_id = CASE WHEN $12::boolean THEN $4 ELSE w.current_task_id END,
         vram_total_mb = COALESCE($5, w.vram_total_mb), vram_used_mb = COALESCE($6, w.vram_used_mb),
         gpus = $7, heartbeat_interval_s = $8, last_heartbeat = ${FROM_MICROS('$9')},
         dropped_logs = LEAST(w.dropped_logs + $10, 9007199254740991), stats = COALESCE($11, w.stats)
       WHERE w.id = $1`,
      [...row, own],
    );
  await updateElseInsert(
    hb.id,
    async () => {
      try {
        return await update(values, true);
      } catch (error) {
        // an orchestrator's table whose status or current_task_id take only its own values (a
        // CHECK without 'offline', a uuid referencing its tasks): those columns stay the
        // orchestrator's, the rest is written; `state` still says what the worker said
        if (!ORCHESTRATOR_VALUE_REFUSED.has((error as { code?: string }).code ?? '')) throw error;
        return update(values.map((value, i) => (i === 1 || i === 3 ? null : value)), false);
      }
    },
    () =>
      db.query(
        `INSERT INTO workers (id, status, state, current_task_id, vram_total_mb, vram_used_mb, gpus, heartbeat_interval_s,
                              first_seen, last_heartbeat, dropped_logs, stats)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ${FROM_MICROS('$9')}, ${FROM_MICROS('$9')}, $10, $11)
         ON CONFLICT (id) DO NOTHING`,
        values,
      ),
  );
}

export async function touchWorker(db: pg.Pool, id: string, intervalS: number, now: number): Promise<void> {
  await updateElseInsert(
    id,
    () => db.query(`UPDATE workers SET last_heartbeat = ${FROM_MICROS('$2')} WHERE id = $1`, [id, now]),
    () =>
      db.query(
        `INSERT INTO workers (id, state, heartbeat_interval_s, first_seen, last_heartbeat) VALUES ($1, 'busy', $2, ${FROM_MICROS('$3')}, ${FROM_MICROS('$3')})
         ON CONFLICT (id) DO NOTHING`,
        [id, intervalS, now],
      ),
  );
}

export async function clearCurrentTask(db: pg.Pool, workerId: string, taskIds: readonly string[]): Promise<void> {
  // the seeds' column: NULL is what their orchestrator writes after a task ends
  await db.query(`UPDATE workers SET current_task_id = NULL WHERE id = $1 AND current_task_id::text = ANY($2::text[])`, [workerId, [...taskIds]]);
}

/**
 * The worker's row updated, or made when there is none (and updated after all when another
 * process made it meanwhile). A table that needs more than runlog knows (an adopted one) is a 409
 * naming the column.
 */
async function updateElseInsert(id: string, update: () => Promise<pg.QueryResult>, insert: () => Promise<pg.QueryResult>): Promise<void> {
  if ((await update()).rowCount === 1) return;
  let inserted: pg.QueryResult;
  try {
    inserted = await insert();
  } catch (error) {
    const { code, column } = error as { code?: string; column?: string };
    if (code !== '23502' && !ORCHESTRATOR_VALUE_REFUSED.has(code ?? '')) throw error;
    throw conflict(
      `worker ${id} is not in the workers table, and runlog cannot add it there` +
        `${column ? ` (its column ${column} needs a value)` : ''}: register the worker in that table first`,
    );
  }
  if (inserted.rowCount === 0) await update();
}

interface WorkerRow {
  id: string;
  state: string;
  current_task_id: string | null;
  vram_total_mb: number | null;
  vram_used_mb: number | null;
  gpus: unknown[];
  heartbeat_interval_s: number;
  first_seen_us: number;
  last_heartbeat_us: number;
  never_heard: boolean;
  dropped_logs: number;
  stats: Record<string, unknown> | null;
  last_seq: number | null;
}

const WORKER_SELECT = `SELECT w.id, w.state, w.current_task_id, w.vram_total_mb, w.vram_used_mb, w.gpus, w.heartbeat_interval_s,
  ${MICROS('LEAST(w.first_seen, COALESCE(w.last_heartbeat, w.first_seen))')} AS first_seen_us, ${MICROS('COALESCE(w.last_heartbeat, w.first_seen)')} AS last_heartbeat_us,
  w.last_heartbeat IS NULL AS never_heard, w.dropped_logs, w.stats,
  ${WORKER_LAST_SEQ('w.id')} AS last_seq
  FROM workers w`;

export async function getWorker(db: pg.Pool, id: string, now: number): Promise<Worker | undefined> {
  const { rows } = await db.query<WorkerRow>(`${WORKER_SELECT} WHERE w.id = $1`, [id]);
  return rows[0] === undefined ? undefined : workerFromRow(rows[0], now);
}

export async function listWorkers(db: pg.Pool, now: number): Promise<Worker[]> {
  const { rows } = await db.query<WorkerRow>(`${WORKER_SELECT} ORDER BY w.id`);
  return rows.map((row) => workerFromRow(row, now));
}

function workerFromRow(row: WorkerRow, now: number): Worker {
  const state = (row.state ?? 'idle') as WorkerState;
  const heard = Number(row.last_heartbeat_us);
  // a row the orchestrator made that no heartbeat ever reached (adopted with the seed's table)
  const never = row.never_heard;
  return {
    id: row.id,
    status: never ? 'offline' : workerStatus(state, heard, row.heartbeat_interval_s, now),
    state,
    current_task_id: row.current_task_id,
    vram_total_mb: row.vram_total_mb,
    vram_used_mb: row.vram_used_mb,
    gpus: row.gpus,
    heartbeat_interval_s: row.heartbeat_interval_s,
    first_seen: microsToIso(Number(row.first_seen_us)),
    last_heartbeat: never ? null : isoMicros(heard),
    last_heartbeat_age_s: never ? null : Math.max(0, (now - heard) / 1e6),
    dropped_logs: Number(row.dropped_logs),
    stats: row.stats,
    last_seq: row.last_seq === null ? 0 : Number(row.last_seq),
  };
}

function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros - ms * 1000).padStart(3, '0')}Z`;
}

/** A worker's lines → system_logs rows; returns those not stored yet (by the sender's seq). */
export async function appendSystemLogs(db: pg.Pool, workerId: string, stream: string, records: readonly LogRecord[]): Promise<LogRecord[]> {
  const columns: unknown[][] = [[], [], [], [], [], [], [], []];
  for (const r of records) {
    // the seed's metadata column holds what the sender gave, flat (a sender's `metadata`, kept as
    // attrs.metadata by the heartbeat route, with its keys winning), beside runlog's attrs and logger
    const { metadata: given, ...attrs } = r.attrs ?? {};
    const sent = typeof given === 'object' && given !== null && !Array.isArray(given) ? (given as Record<string, unknown>) : given === undefined ? {} : { metadata: given };
    // runlog's session of the line is runlog's own: a sender's metadata key of that name does not replace it
    const session = attrs.runlog_session === undefined ? {} : { runlog_session: attrs.runlog_session };
    const metadata = { ...attrs, ...(r.logger ? { logger: r.logger } : {}), ...sent, ...session };
    const values = [r.timestamp, r.level, r.message, r.task_id ?? null, JSON.stringify(metadata), r.seq, r.source ?? null, r.phase ?? null];
    values.forEach((value, i) => columns[i]?.push(value));
  }
  const { rows } = await db.query<{ seq: number }>(
    `INSERT INTO system_logs (timestamp, level, message, source_type, source_id, task_id, metadata, seq, source, phase)
     SELECT ${FROM_MICROS('u.t')}, u.l, u.m, 'worker', $1, u.tk, u.md::jsonb, u.s, u.src, u.ph
     FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[])
       AS u(t, l, m, tk, md, s, src, ph)
     ON CONFLICT (source_type, source_id, seq) WHERE seq IS NOT NULL DO NOTHING
     RETURNING seq`,
    [workerId, ...columns],
  );
  const inserted = new Set(rows.map((row) => Number(row.seq)));
  const seen = new Set<number>();
  const fresh: LogRecord[] = [];
  for (const r of records) {
    if (!inserted.has(r.seq) || seen.has(r.seq)) continue;
    seen.add(r.seq);
    fresh.push(r.stream === stream ? r : { ...r, stream });
  }
  return fresh.sort((a, b) => a.seq - b.seq);
}

export interface SystemLogRow {
  id: number;
  seq: number | null;
  ts: number;
  level: string;
  message: string;
  source_type: string;
  source_id: string;
  task_id: string | null;
  /** JSONB as the sender gave it: an object, but the seed's function takes any value */
  metadata: unknown;
  source: string | null;
  phase: string | null;
}

export const SYSTEM_LOG_SELECT = `SELECT id, seq, ${MICROS('timestamp')} AS ts, level, message, source_type, source_id, task_id, metadata, source, phase FROM system_logs`;

/**
 * A row as a record of stream `worker:<id>`. Every row has a seq (the hub's, or the one the database
 * gives a row that came without: function-seqs.ts); a row written with that trigger disabled has
 * none, and its row id stands in, as for rows stored before migration 13.
 */
export function recordFromSystemRow(row: SystemLogRow): LogRecord {
  const { logger, ...attrs } = metadataObject(row.metadata);
  const record: LogRecord = {
    stream: `${row.source_type === 'worker' ? 'worker' : row.source_type}:${row.source_id}`,
    seq: Number(row.seq ?? row.id),
    timestamp: Number(row.ts),
    level: parseLevel(row.level) ?? 'INFO',
    message: row.message,
  };
  if (row.source !== null) record.source = row.source as Source;
  if (row.phase !== null) record.phase = row.phase as Phase;
  if (typeof logger === 'string') record.logger = logger;
  if (row.task_id !== null) record.task_id = row.task_id;
  if (Object.keys(attrs).length > 0) record.attrs = attrs;
  return record;
}

export function systemLogFromRow(row: SystemLogRow): SystemLog {
  const line = systemLogFromRecord(recordFromSystemRow(row));
  // the id the API documents and the live stream gives (worker:<id>/<seq>), whichever hub wrote the line
  return { ...line, source_type: row.source_type, source_id: row.source_id, metadata: metadataObject(row.metadata) };
}

/**
 * The rank (LEVEL_RANK) of the level a `level` column's text is shown with, in SQL: parseLevel's
 * reading of it (any case, blanks around it, a levelno as text, the aliases, INFO for a text it
 * does not know), so that a level filter keeps exactly the lines shown at that level and above.
 * Listing the accepted texts instead missed what the seed's function stores as the worker sent it
 * (`ERROR   ` padded as a formatter pads it, `VERBOSE`): shown ERROR or INFO, filtered out even
 * by `level=DEBUG`. No `?` in it: the queries put their parameters where a `?` is.
 */
const LEVEL_TEXT = `upper(btrim(level, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)))`;
const NAMED_RANKS = [...LEVELS.map((name): [string, Level] => [name, name]), ...Object.entries(LEVEL_ALIASES)]
  .map(([name, level]) => `WHEN '${name}' THEN ${LEVEL_RANK[level]}`)
  .join(' ');
const NUMBER_RANKS = ([50, 40, 30, 20] as const).map((n) => `WHEN ${LEVEL_TEXT}::int >= ${n} THEN ${LEVEL_RANK[levelFromNumber(n) ?? 'DEBUG']}`).join(' ');
const LEVEL_RANK_SQL =
  `(CASE WHEN ${LEVEL_TEXT} ~ '^[0-9]{1,3}$' THEN (CASE ${NUMBER_RANKS} ELSE ${LEVEL_RANK.DEBUG} END) ` +
  `ELSE (CASE ${LEVEL_TEXT} ${NAMED_RANKS} ELSE ${LEVEL_RANK.INFO} END) END)`;

/** The condition, with its parameter, for worker lines at `level` and above (see LEVEL_RANK_SQL). */
export function levelAtOrAbove(level: Level): [condition: string, value: number] {
  return [`${LEVEL_RANK_SQL} >= ?`, LEVEL_RANK[level]];
}

/**
 * A worker line's message as search sees it: without ANSI codes (CSI, OSC, a charset choice such
 * as `tput sgr0`'s ESC ( B, two-byte escapes), as
 * run lines are searched (their chunks index the plain text). Worth the regexp only on the few
 * lines that hold an ESC at all. No `?` in it: the queries put their parameters where a `?` is.
 */
const ANSI_RE = String.raw`\x1b(\[[0-\x3f]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[ -/]+[0-~]|[@-_])`;
export const PLAIN_MESSAGE = `(CASE WHEN strpos(message, chr(27)) > 0 THEN regexp_replace(message, '${ANSI_RE}', '', 'g') ELSE message END)`;

export async function querySystemLogs(db: pg.Pool, filter: SystemLogFilter): Promise<SystemLog[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    where.push(condition.replace('?', `$${params.length}`));
  };
  if (filter.source_type !== undefined) add('source_type = ?', filter.source_type);
  if (filter.source_id !== undefined) add('source_id = ?', filter.source_id);
  if (filter.task_id !== undefined) add('task_id = ?', filter.task_id);
  if (filter.level !== undefined) add(...levelAtOrAbove(filter.level));
  if (filter.since !== undefined) add(`timestamp >= ${FROM_MICROS('?')}`, filter.since);
  if (filter.until !== undefined) add(`timestamp <= ${FROM_MICROS('?')}`, filter.until);
  if (filter.q) add(`${asciiFolded(PLAIN_MESSAGE)} LIKE ?`, foldedPattern(filter.q));
  if (filter.before !== undefined) where.push(await afterLine(db, filter.before, params));
  params.push(Math.min(filter.limit ?? 100, MAX_PAGE));
  const { rows } = await db.query<SystemLogRow>(
    `${SYSTEM_LOG_SELECT} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${WORKER_LINE_ORDER} LIMIT $${params.length}`,
    params,
  );
  return rows.map(systemLogFromRow);
}

/**
 * Workers' lines as GET /api/logs lists them: timestamp, stream (`worker:<source_id>`), seq, each
 * descending, as search lists them (search-order.ts) and SQLite does; ids compared byte by byte
 * (COLLATE "C", code point order), not by the database's locale. COALESCE(seq, id): a row with no
 * seq (written with the numbering trigger disabled) reads by its row id; the row id last breaks the
 * one tie that could leave (such a row whose id is another line's seq).
 */
const WORKER_LINE_ORDER = 'timestamp DESC, source_type COLLATE "C" DESC, source_id COLLATE "C" DESC, COALESCE(seq, id) DESC, id DESC';

/** The condition "after this line" in WORKER_LINE_ORDER; a 400 naming `before` when the line is not stored. */
async function afterLine(db: pg.Pool, ref: WorkerLineRef, params: unknown[]): Promise<string> {
  const at = `source_type = 'worker' AND source_id = $1::text AND COALESCE(seq, id) = $2::bigint`;
  const found = await db.query(`SELECT 1 FROM system_logs WHERE ${at} LIMIT 1`, [ref.source_id, ref.seq]);
  if (found.rowCount === 0) throw badRequest('before', `no line worker:${ref.source_id}/${ref.seq} is stored (never, or deleted by retention)`);
  params.push(ref.source_id, ref.seq);
  const [id, seq] = [`$${params.length - 1}::text`, `$${params.length}::bigint`];
  // the cursor's own timestamp, read in the query: exact, however far from the µs JavaScript holds
  const time = `(SELECT timestamp FROM system_logs WHERE ${at.replace('$1::text', id).replace('$2::bigint', seq)} LIMIT 1)`;
  return `source_type = 'worker' AND (timestamp < ${time} OR (timestamp = ${time} AND (source_id COLLATE "C" < ${id} OR (source_id = ${id} AND COALESCE(seq, id) < ${seq}))))`;
}

/** Rows by id, for the hubs that learn of them from a notice (notify.ts). */
export async function systemLogsByIds(db: pg.Pool, low: number, high: number): Promise<SystemLogRow[]> {
  const { rows } = await db.query<SystemLogRow>(`${SYSTEM_LOG_SELECT} WHERE id BETWEEN $1 AND $2 ORDER BY id LIMIT 10000`, [low, high]);
  return rows;
}
