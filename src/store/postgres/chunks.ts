/**
 * A run's lines in run_chunks: appended as compressed chunks, read back by scanning chunks in
 * order and decoding only as many as the query needs.
 *
 * Identity: `(stream, seq)`. An append takes a transaction-scoped advisory lock on the stream, reads
 * the chunks whose seq range meets the batch (none, for a run appending at its end: one index
 * probe), and stores only the seqs not stored yet, so a resent or overlapping batch, even one
 * arriving at two hubs at once, is stored once. Chunks of one stream may overlap in seq range
 * (a late batch filling a gap); the scans below stay exact in that case.
 */
import type pg from 'pg';
import { bloomMayContain, decodeChunk, encodeChunk, levelsAtLeast, searchText } from '../chunks/index.js';
import { LEVEL_RANK, type LogRecord } from '../../core/record.js';
import { foldAscii } from '../../core/text.js';
import { DEFAULT_TAIL, MAX_PAGE, type LogQuery } from '../store.js';

/** lines per chunk: big enough to compress well, small enough that a tail decodes little */
export const CHUNK_LINES = 1000;

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Stores the batch's records not stored yet; returns them, in seq order. Fast path, one round trip
 * (runlog_append_chunks): no stored chunk meets the batch's range. Otherwise, in a transaction under
 * the stream's lock, the chunks that do are decoded and their seqs left out.
 */
export async function appendChunks(pool: pg.Pool, stream: string, records: readonly LogRecord[]): Promise<LogRecord[]> {
  const unique = new Map<number, LogRecord>();
  for (const record of records) {
    if (unique.has(record.seq)) continue; // the same seq twice in one batch
    unique.set(record.seq, record.stream === stream ? record : { ...record, stream });
  }
  const sorted = [...unique.values()].sort((a, b) => a.seq - b.seq);
  const low = sorted[0]?.seq ?? 0;
  const high = sorted[sorted.length - 1]?.seq ?? 0;
  const { rows } = await pool.query<{ stored: boolean }>(
    'SELECT runlog_append_chunks($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS stored',
    [stream, low, high, sorted.length, ...chunkColumns(sorted)],
  );
  if (rows[0]?.stored) return sorted;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const fresh = await insertKnownOverlap(client, stream, sorted, low, high);
    await client.query('COMMIT');
    return fresh;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** The records (sorted, unique) as chunks of CHUNK_LINES, one array per column. */
function chunkColumns(sorted: readonly LogRecord[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], [], [], []];
  for (let start = 0; start < sorted.length; start += CHUNK_LINES) {
    const { meta, data } = encodeChunk(sorted.slice(start, start + CHUNK_LINES));
    const values = [meta.first_seq, meta.last_seq, meta.count, meta.min_ts, meta.max_ts, meta.levels, meta.bloom, data];
    values.forEach((value, i) => columns[i]?.push(value));
  }
  return columns;
}

async function insertKnownOverlap(client: pg.PoolClient, stream: string, sorted: readonly LogRecord[], low: number, high: number): Promise<LogRecord[]> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [stream]);
  const overlapping = await client.query<{ data: Buffer }>(
    'SELECT data FROM run_chunks WHERE stream = $1 AND last_seq >= $2 AND first_seq <= $3',
    [stream, low, high],
  );
  const known = new Set<number>();
  for (const row of overlapping.rows) for (const record of decodeChunk(stream, row.data)) known.add(record.seq);
  const fresh = sorted.filter((record) => !known.has(record.seq));
  if (fresh.length === 0) return [];
  const [first, last, count, minTs, maxTs, levels, bloom, data] = chunkColumns(fresh);
  await client.query(
    `INSERT INTO run_chunks (stream, first_seq, last_seq, count, min_ts, max_ts, levels, bloom, data)
     SELECT $1, u.* FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::bigint[], $6::bigint[], $7::int[], $8::bytea[], $9::bytea[]) AS u`,
    [stream, first, last, count, minTs, maxTs, levels, bloom, data],
  );
  await client.query('UPDATE runs SET line_count = line_count + $2 WHERE id = $1', [stream, fresh.length]);
  return fresh;
}

interface ChunkRow {
  first_seq: number;
  last_seq: number;
  bloom: Buffer;
  data: Buffer;
}

/**
 * The lines matching `query`: chunks are read newest first for a tail (by last_seq), oldest first
 * for a forward page (by first_seq), a few at first then more, and decoding stops as soon as the
 * lines already found are certainly the answer (no chunk left can hold a line that sorts before them).
 */
export async function scanLines(db: Queryable, stream: string, query: LogQuery): Promise<{ records: LogRecord[]; truncated: boolean }> {
  const forward = query.limit !== undefined;
  const wanted = Math.min(query.limit ?? query.tail ?? DEFAULT_TAIL, MAX_PAGE);
  const where = ['stream = $1'];
  const params: unknown[] = [stream];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    where.push(condition.replace('?', `$${params.length}`));
  };
  if (query.after !== undefined) {
    add('last_seq > ?', query.after);
    // and a start on the primary key: the first chunk that may hold a seq past `after` (found on
    // the last_seq index), so reading on from near the end (live, paging) does not walk the run
    const { rows } = await db.query<{ start: number | null }>(
      'SELECT MIN(first_seq) AS start FROM run_chunks WHERE stream = $1 AND last_seq > $2',
      [stream, query.after],
    );
    if (rows[0]?.start === null || rows[0]?.start === undefined) return { records: [], truncated: false };
    add('first_seq >= ?', rows[0].start);
  }
  if (query.before !== undefined) add('first_seq < ?', query.before);
  if (query.since !== undefined) add('max_ts >= ?', query.since);
  if (query.until !== undefined) add('min_ts <= ?', query.until);
  if (query.level !== undefined) add('(levels & ?) <> 0', levelsAtLeast(query.level));
  const needle = query.q ? foldAscii(query.q) : undefined;
  const matches = (r: LogRecord) =>
    (query.after === undefined || r.seq > query.after) &&
    (query.before === undefined || r.seq < query.before) &&
    (query.since === undefined || r.timestamp >= query.since) &&
    (query.until === undefined || r.timestamp <= query.until) &&
    (query.level === undefined || LEVEL_RANK[r.level] >= LEVEL_RANK[query.level]) &&
    (needle === undefined || searchText(r.message).includes(needle));

  const order = forward ? 'first_seq ASC' : 'last_seq DESC';
  // resume strictly past the last chunk read: first_seq (and last_seq) are unique within a stream
  const cursorColumn = forward ? 'first_seq' : 'last_seq';
  const cursorOp = forward ? '>' : '<';
  let found: LogRecord[] = [];
  let cursor: number | undefined;
  let pageSize = 2;
  for (;;) {
    const pageParams = [...params];
    let pageWhere = where.join(' AND ');
    if (cursor !== undefined) {
      pageParams.push(cursor);
      pageWhere += ` AND ${cursorColumn} ${cursorOp} $${pageParams.length}`;
    }
    pageParams.push(pageSize);
    // with a text to find, the blooms first: only the chunks that may hold it are fetched whole
    const columns = needle === undefined ? 'first_seq, last_seq, bloom, data' : 'first_seq, last_seq, bloom';
    const { rows } = await db.query<ChunkRow>(
      `SELECT ${columns} FROM run_chunks WHERE ${pageWhere} ORDER BY ${order} LIMIT $${pageParams.length}`,
      pageParams,
    );
    let chunks: { data: Buffer }[] = rows;
    if (needle !== undefined) {
      const candidates = rows.filter((row) => bloomMayContain(row.bloom, needle)).map((row) => row.first_seq);
      chunks = candidates.length === 0 ? [] : (await db.query<{ data: Buffer }>('SELECT data FROM run_chunks WHERE stream = $1 AND first_seq = ANY($2)', [stream, candidates])).rows;
    }
    for (const chunk of chunks) for (const record of decodeChunk(stream, chunk.data)) if (matches(record)) found.push(record);
    const last = rows[rows.length - 1];
    // keep the best wanted + 1 (one more says "truncated"): memory stays bounded on a long scan
    found.sort((a, b) => (forward ? a.seq - b.seq : b.seq - a.seq));
    if (found.length > wanted + 1) found = found.slice(0, wanted + 1);
    if (last === undefined || rows.length < pageSize) break;
    cursor = forward ? last.first_seq : last.last_seq;
    // every chunk left holds only seqs past this bound: what is found before it is final
    const bound = cursor;
    const settled = found.filter((r) => (forward ? r.seq <= bound : r.seq >= bound)).length;
    if (settled > wanted) break;
    pageSize = Math.min(pageSize * 4, 64);
  }
  const truncated = found.length > wanted;
  if (truncated) found.pop();
  if (!forward) found.reverse();
  return { records: found, truncated };
}

export async function lastSeq(db: Queryable, stream: string): Promise<number> {
  const { rows } = await db.query<{ n: number | null }>('SELECT MAX(last_seq) AS n FROM run_chunks WHERE stream = $1', [stream]);
  return rows[0]?.n ?? 0;
}
