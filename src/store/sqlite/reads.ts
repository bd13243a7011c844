/**
 * Reading lines out of chunks. A chunk is decoded only when its metadata says it may hold a
 * match: its seq range, its time range, its levels bitmask, and for text its trigram bloom.
 *
 * One stream (a run's page, tail, backlog): chunks in seq order from the requested end, a page
 * of metadata at a time, until the page is full. Across streams (search, workers' lines): the
 * candidate chunks newest first by their last timestamp; once `limit` matches are newer than
 * the next chunk's newest line, nothing further can enter the page.
 *
 * better-sqlite3 reads block the hub's one thread: a text search that must decode millions of
 * lines (its trigrams in every chunk's bloom) held every request and live viewer for seconds. So
 * a read lets the event loop run every SLICE_MS (between pages of chunks, or between chunks),
 * and what writers do meanwhile is allowed for: the next page starts after the last line taken
 * (a chunk merged across the cursor gives nothing twice), and a chunk gone since its metadata was
 * read is read from where its lines are now (SqliteLines.decode).
 */
import { LEVEL_RANK, type Level, type LogRecord } from '../../core/record.js';
import { foldAscii } from '../../core/text.js';
import { bloomMayContain, levelsAtLeast, searchText, type DecodeFilter } from '../chunks/index.js';
import { newestFirst } from '../search-order.js';
import { DEFAULT_TAIL, MAX_PAGE, type LogQuery } from '../store.js';
import type { ChunkRow, ChunkRowWithBloom, SqliteLines } from './lines.js';

/** chunk metadata rows read at a time when walking one stream: few first (a tail needs one or two), more after */
const FIRST_META_PAGE = 4;
const META_PAGE = 64;
const ALL_LEVELS = 0xff;
/** the longest a read holds the event loop before letting it run */
const SLICE_MS = 10;

/** Lets the event loop run when this read has held it SLICE_MS. */
class Slices {
  private since = performance.now();

  async pause(): Promise<void> {
    if (performance.now() - this.since < SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}

export interface LineFilter {
  since?: number;
  until?: number;
  level?: Level;
  q?: string;
}

/** A record test and a chunk test for the same filter. */
function matchers(filter: LineFilter): { chunk: (row: ChunkRow & { bloom?: Buffer }) => boolean; record: (record: LogRecord) => boolean; decode: DecodeFilter } {
  const since = filter.since ?? -Infinity;
  const until = filter.until ?? Infinity;
  const mask = filter.level === undefined ? ALL_LEVELS : levelsAtLeast(filter.level);
  const rank = filter.level === undefined ? 0 : LEVEL_RANK[filter.level];
  const q = filter.q ? foldAscii(filter.q) : undefined;
  return {
    // what decoding can skip before making records: other levels, other times
    decode: {
      ...(filter.level === undefined ? {} : { levels: mask }),
      ...(filter.since === undefined && filter.until === undefined ? {} : { keep: (_seq: number, ts: number) => ts >= since && ts <= until }),
    },
    chunk: (row) =>
      row.max_ts >= since && row.min_ts <= until && (row.levels & mask) !== 0 && (q === undefined || row.bloom === undefined || bloomMayContain(row.bloom, q)),
    record: (record) =>
      record.timestamp >= since &&
      record.timestamp <= until &&
      LEVEL_RANK[record.level] >= rank &&
      (q === undefined || searchText(record.message).includes(q)),
  };
}

/** One stream's page: the first `limit` matches after `after`, or the last `tail` before `before`. */
export async function queryStream(
  lines: SqliteLines,
  stream: string,
  query: LogQuery,
  slices: { pause(): Promise<void> } = new Slices(),
): Promise<{ records: LogRecord[]; truncated: boolean }> {
  const forward = query.limit !== undefined;
  const wanted = Math.min(query.limit ?? query.tail ?? DEFAULT_TAIL, MAX_PAGE);
  const after = query.after ?? 0;
  // past the largest seq there is (MAX_SAFE_INTEGER is a seq a writer may use), and exact as a double
  const before = query.before ?? 2 ** 53;
  const test = matchers({
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
    ...(query.level ? { level: query.level } : {}),
    ...(query.q ? { q: query.q } : {}),
  });
  const since = query.since ?? -Infinity;
  const until = query.until ?? Infinity;
  const found: LogRecord[] = [];
  let cursor = forward ? after : before;
  const bloom = Boolean(query.q);
  const decode: DecodeFilter = {
    ...test.decode,
    keep: (seq, ts) => seq > after && seq < before && ts >= since && ts <= until,
  };
  for (let page = FIRST_META_PAGE; ; page = META_PAGE) {
    const rows = forward ? lines.chunksAfter(stream, cursor, before, page, bloom) : lines.chunksBefore(stream, cursor, after, page, bloom);
    for (const row of rows) {
      cursor = forward ? row.last_seq : row.first_seq;
      if (!test.chunk(row)) continue;
      const records = lines.decode(row, decode);
      if (!forward) records.reverse();
      for (const record of records) {
        // past the last line taken (found is in the order of the walk): a chunk merged across the cursor while the loop ran is read again
        const last = found.length === 0 ? undefined : (found[found.length - 1] as LogRecord).seq;
        const fresh = last === undefined || (forward ? record.seq > last : record.seq < last);
        if (fresh && record.seq > after && record.seq < before && test.record(record)) found.push(record);
        if (found.length > wanted) break;
      }
      if (found.length > wanted) break;
    }
    if (found.length > wanted || rows.length < page) break;
    await slices.pause();
  }
  const truncated = found.length > wanted;
  if (truncated) found.pop();
  if (!forward) found.reverse();
  return { records: found, truncated };
}

/** Lines after `afterSeq`, ascending, at most `limit`. */
export async function readStream(lines: SqliteLines, stream: string, afterSeq: number, limit: number): Promise<LogRecord[]> {
  return (await queryStream(lines, stream, { after: afterSeq, limit: Math.min(limit, MAX_PAGE) })).records;
}

/**
 * The newest `limit` matching lines of the streams `streamWhere` selects (an SQL condition on
 * `chunks`), with `keep` as a further test of each record; `order` breaks ties of timestamp.
 */
export async function scanNewest(
  lines: SqliteLines,
  streamWhere: { sql: string; params: (string | number)[] },
  filter: LineFilter,
  limit: number,
  keep: (record: LogRecord) => boolean = () => true,
  order: (a: LogRecord, b: LogRecord) => number = newestFirst,
): Promise<{ records: LogRecord[]; truncated: boolean }> {
  const test = matchers(filter);
  const rows = lines
    .sql(
      `SELECT rowid AS id, stream, first_seq, last_seq, count, min_ts, max_ts, levels, bytes, alerts IS NOT NULL AS has_alerts${filter.q ? ', bloom' : ''}
       FROM chunks WHERE ${streamWhere.sql} AND max_ts >= ? AND min_ts <= ?`,
    )
    .all(...streamWhere.params, filter.since ?? Number.MIN_SAFE_INTEGER, filter.until ?? Number.MAX_SAFE_INTEGER) as ChunkRowWithBloom[];
  const candidates = rows.filter(test.chunk).sort((a, b) => b.max_ts - a.max_ts);
  let found: LogRecord[] = [];
  const slices = new Slices();
  for (const row of candidates) {
    await slices.pause();
    if (found.length > limit) {
      found.sort(order);
      found = found.slice(0, limit + 1);
      if (row.max_ts < (found[limit] as LogRecord).timestamp) break;
    }
    for (const record of lines.decode(row, test.decode)) if (test.record(record) && keep(record)) found.push(record);
  }
  found.sort(order);
  const truncated = found.length > limit;
  return { records: found.slice(0, limit), truncated };
}
