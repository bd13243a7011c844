/**
 * SQLite's line store: lines in compressed chunks (src/store/chunks), one row per chunk.
 *
 * Invariant: the chunks of one stream have disjoint seq ranges [first_seq, last_seq], so seq
 * order is first_seq order (and last_seq order), and the chunk holding a seq is found with
 * the index on (stream, last_seq).
 *
 * Append: a batch becomes one chunk. The chunks that overlap the batch's seq range (none, for
 * a run printing on) are decoded: their seqs are not stored again (a resent batch is stored
 * once), and when some lines are new they are encoded again together with those chunks, so the
 * ranges stay disjoint.
 *
 * Alerts: a chunk with a few lines of WARNING and above (at most MAX_ALERTS) keeps a copy of them,
 * encoded as a chunk of their own, in `alerts`: a level query reads those instead of inflating
 * thousands of lines for one error. More than that and the chunk itself is the better read.
 *
 * Compaction, in the same transaction: when the stream's last chunks are all small and together
 * reach the target (TARGET_LINES lines or TARGET_BYTES compressed), or there are MAX_SMALL of
 * them, they become one chunk (mergeChunks: mostly a copy of their segments).
 */
import type Database from 'better-sqlite3';
import { statement } from './statements.js';
import { LEVEL_RANK, type LogRecord } from '../../core/record.js';
import { decodeChunk, encodeChunk, levelsAtLeast, mergeChunks, type ChunkMeta, type DecodeFilter, type EncodedChunk } from '../chunks/index.js';

/** a chunk this big is done: compaction leaves it alone */
export const TARGET_LINES = 4096;
/** … or this big compressed (≈ 256 KiB of plain log text) */
export const TARGET_BYTES = 32 * 1024;
/** small chunks at a stream's end merged at the latest when there are this many */
const MAX_SMALL = 16;
/** a chunk keeps a copy of its WARNING-and-above lines when it has at most this many */
export const MAX_ALERTS = 64;
const ALERT_RANK = LEVEL_RANK.WARNING;
/** LEVELS bits of WARNING and above */
export const ALERT_LEVELS = levelsAtLeast('WARNING');

/** A chunk's row without its data: the codec's metadata (its bloom only when asked), and where it is. */
export interface ChunkRow extends Omit<ChunkMeta, 'bloom'> {
  id: number;
  stream: string;
  bytes: number;
  /** a copy of the chunk's few WARNING-and-above lines (see the header) */
  has_alerts: number;
}

export interface ChunkRowWithBloom extends ChunkRow {
  bloom: Buffer;
}

const META = 'rowid AS id, stream, first_seq, last_seq, count, min_ts, max_ts, levels, bytes, alerts IS NOT NULL AS has_alerts';

/** How many streams' tails are remembered (a hub has a few hundred live runs at most) */
const MAX_TAIL_HINTS = 10_000;

/** What the last chunks of a stream add up to, while they are all small (see compactTail). */
interface TailHint {
  small: number;
  lines: number;
  bytes: number;
}

export class SqliteLines {
  /**
   * The small chunks at each stream's end, as this connection last saw them: compactTail reads the
   * tail only when they may be worth merging, not on every append (that read was a third of a
   * small append's cost). Only a hint: another process writing the same stream makes it lag, which
   * delays a merge, and a merge reads the real tail.
   */
  private readonly tails = new Map<string, TailHint>();

  constructor(readonly db: Database.Database) {}

  /** Stores the records not stored yet and returns those, in seq order. Call inside a write transaction. */
  append(stream: string, records: readonly LogRecord[]): LogRecord[] {
    const batch = normalize(stream, records);
    const low = (batch[0] as LogRecord).seq;
    const high = (batch[batch.length - 1] as LogRecord).seq;
    const overlapping = this.sql(`SELECT ${META}, bloom, data FROM chunks WHERE stream = ? AND last_seq >= ? AND first_seq <= ? ORDER BY first_seq`)
      .all(stream, low, high) as (ChunkRowWithBloom & { data: Buffer })[];
    if (overlapping.length === 0) {
      this.insertSplit(stream, batch);
      this.compactTail(stream);
      return batch;
    }
    this.tails.delete(stream);
    // retries resend what may be stored already: keep only what is not
    const stored = overlapping.flatMap((row) => decodeChunk(stream, row.data));
    const known = new Set(stored.map((record) => record.seq));
    const fresh = batch.filter((record) => !known.has(record.seq));
    if (fresh.length === 0) return [];
    for (const row of overlapping) this.sql('DELETE FROM chunks WHERE rowid = ?').run(row.id);
    this.insertSplit(stream, [...stored, ...fresh].sort((a, b) => a.seq - b.seq));
    this.compactTail(stream);
    return fresh;
  }

  /** Metadata (and the bloom when asked) of a stream's chunks whose range ends after `afterSeq`, ascending, a page at a time. */
  chunksAfter(stream: string, afterSeq: number, beforeSeq: number, limit: number, bloom: boolean): (ChunkRow & { bloom?: Buffer })[] {
    return this.sql(`SELECT ${META}${bloom ? ', bloom' : ''} FROM chunks WHERE stream = ? AND last_seq > ? AND first_seq < ? ORDER BY last_seq LIMIT ?`)
      .all(stream, afterSeq, beforeSeq, limit) as ChunkRowWithBloom[];
  }

  /** Metadata (and the bloom when asked) of a stream's chunks whose range starts before `beforeSeq`, descending, a page at a time. */
  chunksBefore(stream: string, beforeSeq: number, afterSeq: number, limit: number, bloom: boolean): (ChunkRow & { bloom?: Buffer })[] {
    return this.sql(`SELECT ${META}${bloom ? ', bloom' : ''} FROM chunks WHERE stream = ? AND first_seq < ? AND last_seq > ? ORDER BY first_seq DESC LIMIT ?`)
      .all(stream, beforeSeq, afterSeq, limit) as ChunkRowWithBloom[];
  }

  /**
   * The lines of a chunk (those the filter keeps); from its alerts when the filter wants no line
   * below WARNING. A reader that lets the event loop run between reading a chunk's metadata and
   * its lines (reads.ts) may find the chunk gone: merged by compaction, stored again with a resent
   * batch (a rowid of its own, or another chunk's old one), or deleted by retention. Its lines are
   * then read from the chunks that now hold its seq range: ranges are disjoint, so those lines,
   * and no other chunk's, are exactly this one's.
   */
  decode(row: ChunkRow, filter?: DecodeFilter): LogRecord[] {
    const data = this.chunkData(row, filter);
    if (data !== undefined) return decodeChunk(row.stream, data, filter);
    const now = this.sql(`SELECT ${META} FROM chunks WHERE stream = ? AND last_seq >= ? AND first_seq <= ? ORDER BY first_seq`)
      .all(row.stream, row.first_seq, row.last_seq) as ChunkRow[];
    return now.flatMap((current) => {
      const moved = this.chunkData(current, filter);
      if (moved === undefined) return [];
      return decodeChunk(row.stream, moved, filter).filter((record) => record.seq >= row.first_seq && record.seq <= row.last_seq);
    });
  }

  /** The row's data (or alerts), if that row is still the chunk it was when its metadata was read. */
  private chunkData(row: ChunkRow, filter: DecodeFilter | undefined): Buffer | undefined {
    const fromAlerts = row.has_alerts && filter?.levels !== undefined && (filter.levels & ~ALERT_LEVELS) === 0;
    return this.sql(`SELECT ${fromAlerts ? 'alerts' : 'data'} FROM chunks WHERE rowid = ? AND stream = ? AND first_seq = ? AND last_seq = ?`)
      .pluck()
      .get(row.id, row.stream, row.first_seq, row.last_seq) as Buffer | undefined;
  }

  /** The highest seq the stream has had: its lines', and those retention deleted (stream_seqs). */
  lastSeq(stream: string): number {
    const stored = this.sql('SELECT MAX(last_seq) FROM chunks WHERE stream = ?').pluck().get(stream) as number | null;
    const deleted = this.sql('SELECT last_seq FROM stream_seqs WHERE stream = ?').pluck().get(stream) as number | undefined;
    return Math.max(stored ?? 0, deleted ?? 0);
  }

  countLines(stream: string): number {
    return (this.sql('SELECT SUM(count) FROM chunks WHERE stream = ?').pluck().get(stream) as number | null) ?? 0;
  }

  deleteStream(stream: string): void {
    this.tails.delete(stream);
    this.sql('DELETE FROM chunks WHERE stream = ?').run(stream);
  }

  /**
   * Deletes the lines of streams starting with `prefix` captured before `before` (µs): whole
   * chunks when they are all older, a chunk that straddles the cutoff encoded again with what
   * it keeps. In transactions of at most `batch` chunks, so a writer never waits long. Each chunk's
   * last seq is kept in stream_seqs in the same transaction: a stream numbered by the hub (a
   * worker's) numbers on after it, never from 1 again (see migrate-seqs.ts).
   */
  deleteBefore(prefix: string, before: number, batch = 256): number {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    let deleted = 0;
    const step = this.db.transaction(() => {
      const rows = this.sql(`SELECT ${META} FROM chunks WHERE stream >= ? AND stream < ? AND min_ts < ? LIMIT ?`).all(prefix, end, before, batch) as ChunkRow[];
      for (const row of rows) {
        this.tails.delete(row.stream);
        const kept = row.max_ts < before ? [] : this.decode(row).filter((record) => record.timestamp >= before);
        this.sql(
          `INSERT INTO stream_seqs (stream, last_seq) VALUES (?, ?)
           ON CONFLICT (stream) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)`,
        ).run(row.stream, row.last_seq);
        this.sql('DELETE FROM chunks WHERE rowid = ?').run(row.id);
        if (kept.length > 0) this.insert(row.stream, encodeChunk(kept), alertsOf(kept));
        deleted += row.count - kept.length;
      }
      return rows.length;
    });
    while (step.immediate() === batch) {
      // another batch: the lock was let go in between
    }
    return deleted;
  }

  private insertSplit(stream: string, records: readonly LogRecord[]): void {
    // a huge batch (a migration, a replayed spool) still makes chunks of the target size
    const size = records.length > 2 * TARGET_LINES ? TARGET_LINES : records.length;
    for (let start = 0; start < records.length; start += size) {
      const part = records.slice(start, start + size);
      const chunk = encodeChunk(part);
      this.insert(stream, chunk, alertsOf(part));
      this.noteTail(stream, chunk.meta.count, chunk.data.length);
    }
  }

  private noteTail(stream: string, count: number, bytes: number): void {
    const hint = this.tails.get(stream);
    if (hint === undefined) return;
    if (!isSmall(count, bytes)) this.tails.set(stream, { small: 0, lines: 0, bytes: 0 });
    else this.tails.set(stream, { small: hint.small + 1, lines: hint.lines + count, bytes: hint.bytes + bytes });
  }

  /** `alerts`: the chunk's WARNING-and-above lines, or null when it has none or too many. */
  private insert(stream: string, chunk: EncodedChunk, alerts: LogRecord[] | null): void {
    const m: ChunkMeta = chunk.meta;
    const alertData = alerts === null || alerts.length === 0 ? null : encodeChunk(alerts).data;
    this.sql(
      `INSERT INTO chunks (stream, first_seq, last_seq, count, min_ts, max_ts, levels, bytes, bloom, data, alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(stream, m.first_seq, m.last_seq, m.count, m.min_ts, m.max_ts, m.levels, chunk.data.length, m.bloom, chunk.data, alertData);
  }

  /** Merges the stream's last small chunks once they are worth it (see the header). */
  private compactTail(stream: string): void {
    const hint = this.tails.get(stream);
    if (hint !== undefined && !worthMerging(hint)) return;
    const tail = this.sql(`SELECT ${META} FROM chunks WHERE stream = ? ORDER BY first_seq DESC LIMIT ?`).all(stream, MAX_SMALL) as ChunkRow[];
    const small: ChunkRow[] = [];
    let lines = 0;
    let bytes = 0;
    for (const row of tail) {
      if (!isSmall(row.count, row.bytes)) break;
      small.push(row);
      lines += row.count;
      bytes += row.bytes;
    }
    if (!worthMerging({ small: small.length, lines, bytes })) {
      if (this.tails.size >= MAX_TAIL_HINTS) this.tails.clear();
      this.tails.set(stream, { small: small.length, lines, bytes });
      return;
    }
    this.tails.delete(stream); // the merged chunk may be small still: the next append reads the tail
    small.reverse();
    let alerts: LogRecord[] | null = [];
    const parts = small.map((row): EncodedChunk => {
      const full = this.sql('SELECT bloom, data, alerts FROM chunks WHERE rowid = ?').get(row.id) as { bloom: Buffer; data: Buffer; alerts: Buffer | null };
      // the parts' alerts together, while there are few enough
      if (alerts !== null && (row.levels & ALERT_LEVELS) !== 0) {
        alerts = full.alerts === null ? null : alerts.concat(decodeChunk(stream, full.alerts));
        if (alerts !== null && alerts.length > MAX_ALERTS) alerts = null;
      }
      return { meta: { ...row, bloom: full.bloom }, data: full.data };
    });
    for (const row of small) this.sql('DELETE FROM chunks WHERE rowid = ?').run(row.id);
    this.insert(stream, mergeChunks(parts), alerts);
  }

  sql(text: string): Database.Statement {
    return statement(this.db, text);
  }
}

/** A chunk below the target size: compaction may merge it with its small neighbours. */
function isSmall(count: number, bytes: number): boolean {
  return count < TARGET_LINES && bytes < TARGET_BYTES;
}

/** The stream's last small chunks are many enough, or big enough together, to become one. */
function worthMerging({ small, lines, bytes }: TailHint): boolean {
  return small >= 2 && (lines >= TARGET_LINES || bytes >= TARGET_BYTES || small >= MAX_SMALL);
}

/** The lines of WARNING and above, when there are at most MAX_ALERTS; null when more. */
function alertsOf(records: readonly LogRecord[]): LogRecord[] | null {
  const alerts: LogRecord[] = [];
  for (const record of records) {
    if (LEVEL_RANK[record.level] < ALERT_RANK) continue;
    if (alerts.length === MAX_ALERTS) return null;
    alerts.push(record);
  }
  return alerts;
}

/** The batch as stored: this stream, sorted by seq, each seq once (the first copy wins). */
function normalize(stream: string, records: readonly LogRecord[]): LogRecord[] {
  // what a writer sends: this stream, in order, each seq once (no Set of 5,000 seqs per batch)
  let inOrder = true;
  for (let i = 0; i < records.length && inOrder; i++) {
    const record = records[i] as LogRecord;
    inOrder = record.stream === stream && (i === 0 || record.seq > (records[i - 1] as LogRecord).seq);
  }
  if (inOrder) return records.slice();
  const seen = new Set<number>();
  const batch: LogRecord[] = [];
  let sorted = true;
  for (const record of records) {
    if (seen.has(record.seq)) continue;
    seen.add(record.seq);
    const last = batch[batch.length - 1];
    if (last !== undefined && last.seq > record.seq) sorted = false;
    batch.push(record.stream === stream ? record : { ...record, stream });
  }
  if (!sorted) batch.sort((a, b) => a.seq - b.seq);
  return batch;
}
