/**
 * Search across runs and workers on PostgreSQL (GET /api/search, `runlog grep`): newest first.
 *
 * Runs' lines: chunks are walked newest first on an index by time, (max_ts, stream, first_seq),
 * reading only their metadata and bloom; a chunk whose bloom says the text cannot be there, whose
 * levels or time range cannot match, is never fetched or decoded. The walk stops once the lines
 * found are surely the newest (no chunk left has a line newer than them). Workers' lines
 * (system_logs, a row each) are found by a LIKE (ASCII letters folded, fold.ts) bounded by the time range, and merged in.
 */
import type pg from 'pg';
import { bloomMayContain, decodeChunk, levelsAtLeast, searchText } from '../chunks/index.js';
import { LEVEL_RANK, type LogRecord } from '../../core/record.js';
import { foldAscii } from '../../core/text.js';
import { isAfterCursor, newestFirst } from '../search-order.js';
import { MAX_PAGE, type LineSearch, type LineSearchPage } from '../store.js';
import { levelAtOrAbove, PLAIN_MESSAGE, recordFromSystemRow, SYSTEM_LOG_SELECT, type SystemLogRow } from './workers.js';
import { asciiFolded, foldedPattern } from './fold.js';

type SearchFilter = LineSearch;

interface ChunkHead {
  stream: string;
  first_seq: number;
  max_ts: number;
  bloom: Buffer;
}

export async function searchLines(db: pg.Pool, filter: SearchFilter): Promise<LineSearchPage> {
  const limit = Math.min(filter.limit ?? 100, MAX_PAGE);
  const needle = filter.q ? foldAscii(filter.q) : undefined;
  const { until, before } = filter;
  const matches = (r: LogRecord) =>
    (filter.since === undefined || r.timestamp >= filter.since) &&
    (until === undefined || (before === undefined ? r.timestamp <= until : isAfterCursor(r, until, before))) &&
    (filter.level === undefined || LEVEL_RANK[r.level] >= LEVEL_RANK[filter.level]) &&
    (needle === undefined || searchText(r.message).includes(needle));

  const found: LogRecord[] = filter.labels === undefined ? await workerLines(db, filter, limit + 1) : [];
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    where.push(condition.replaceAll('?', `$${params.length}`));
  };
  if (filter.since !== undefined) add('max_ts >= ?', filter.since);
  if (filter.until !== undefined) add('min_ts <= ?', filter.until);
  if (filter.level !== undefined) add('(levels & ?) <> 0', levelsAtLeast(filter.level));
  if (filter.labels !== undefined) add('stream IN (SELECT id FROM runs WHERE labels::jsonb @> ?::jsonb)', JSON.stringify(filter.labels));
  let cursor: [number, string, number] | undefined;
  let pageSize = 16;
  for (;;) {
    const pageParams = [...params];
    const pageWhere = [...where];
    if (cursor !== undefined) {
      pageParams.push(...cursor);
      const n = pageParams.length;
      pageWhere.push(`(max_ts, stream, first_seq) < ($${n - 2}, $${n - 1}, $${n})`);
    }
    pageParams.push(pageSize);
    const { rows } = await db.query<ChunkHead>(
      `SELECT stream, first_seq, max_ts, bloom FROM run_chunks ${pageWhere.length > 0 ? `WHERE ${pageWhere.join(' AND ')}` : ''}
       ORDER BY max_ts DESC, stream DESC, first_seq DESC LIMIT $${pageParams.length}`,
      pageParams,
    );
    const wanted = needle === undefined ? rows : rows.filter((row) => bloomMayContain(row.bloom, needle));
    if (wanted.length > 0) {
      const data = await db.query<{ stream: string; data: Buffer }>(
        'SELECT c.stream, c.data FROM run_chunks c JOIN unnest($1::text[], $2::bigint[]) AS k(stream, first_seq) USING (stream, first_seq)',
        [wanted.map((row) => row.stream), wanted.map((row) => row.first_seq)],
      );
      for (const row of data.rows) for (const record of decodeChunk(row.stream, row.data)) if (matches(record)) found.push(record);
    }
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < pageSize) break;
    cursor = [last.max_ts, last.stream, last.first_seq];
    // no chunk left holds a line newer than `last.max_ts`: lines newer than it are final
    const bound = last.max_ts;
    if (found.filter((r) => r.timestamp > bound).length > limit) break;
    pageSize = Math.min(pageSize * 4, 1024);
  }
  found.sort(newestFirst);
  return { records: found.slice(0, limit), truncated: found.length > limit };
}

/** a worker line's stream, ordered by code point as compareStreams orders it */
const WORKER_STREAM = `('worker:' || source_id) COLLATE "C"`;

async function workerLines(db: pg.Pool, filter: SearchFilter, limit: number): Promise<LogRecord[]> {
  const where = [`source_type = 'worker'`];
  const params: unknown[] = [];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    where.push(condition.replace('?', `$${params.length}`));
  };
  if (filter.since !== undefined) add(`timestamp >= (TIMESTAMPTZ 'epoch' + ?::bigint * INTERVAL '1 microsecond')`, filter.since);
  if (filter.until !== undefined) add(`timestamp <= (TIMESTAMPTZ 'epoch' + ?::bigint * INTERVAL '1 microsecond')`, filter.until);
  if (filter.until !== undefined && filter.before !== undefined) {
    // of the lines at `until`, those after the cursor in the search order (search-order.ts)
    const at = params.push(filter.until, filter.before.stream, filter.before.seq);
    where.push(
      `(timestamp < (TIMESTAMPTZ 'epoch' + $${at - 2}::bigint * INTERVAL '1 microsecond') OR ${WORKER_STREAM} < $${at - 1} OR (${WORKER_STREAM} = $${at - 1} AND COALESCE(seq, id) < $${at}))`,
    );
  }
  if (filter.level !== undefined) add(...levelAtOrAbove(filter.level));
  if (filter.q) add(`${asciiFolded(PLAIN_MESSAGE)} LIKE ?`, foldedPattern(filter.q));
  params.push(limit);
  const { rows } = await db.query<SystemLogRow>(`${SYSTEM_LOG_SELECT} WHERE ${where.join(' AND ')} ORDER BY timestamp DESC, ${WORKER_STREAM} DESC, COALESCE(seq, id) DESC LIMIT $${params.length}`, params);
  return rows.map(recordFromSystemRow);
}
