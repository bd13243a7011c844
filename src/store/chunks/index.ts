/**
 * TEMPORARY chunk codec (h6b's stand-in until h6a's lands here with the same surface):
 * a chunk is the records' JSON, deflated; no bloom filter yet, so every chunk "may contain" any
 * text. The store code depends only on this surface: encodeChunk, decodeChunk, bloomMayContain.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { LEVEL_RANK, type Level, type LogRecord } from '../../core/record.js';

export interface ChunkMeta {
  first_seq: number;
  last_seq: number;
  count: number;
  /** µs */
  min_ts: number;
  max_ts: number;
  /** a bit per level present: 1 << (rank / 10) */
  levels: number;
  /** empty: no filter, any text may be in the chunk */
  bloom: Buffer;
}

export interface EncodedChunk {
  meta: ChunkMeta;
  data: Buffer;
}

type Stored = Omit<LogRecord, 'stream'>;

export function levelBit(level: Level): number {
  return 1 << (LEVEL_RANK[level] / 10);
}

/** The bits of `level` and every level above it. */
export function levelsAtLeast(level: Level): number {
  let mask = 0;
  for (const [name, rank] of Object.entries(LEVEL_RANK)) if (rank >= LEVEL_RANK[level]) mask |= levelBit(name as Level);
  return mask;
}

/** `records`: one stream's, sorted by seq, no seq twice. */
export function encodeChunk(records: readonly LogRecord[]): EncodedChunk {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) throw new Error('encodeChunk: no records');
  let minTs = Infinity;
  let maxTs = -Infinity;
  let levels = 0;
  const stored: Stored[] = [];
  for (const record of records) {
    if (record.timestamp < minTs) minTs = record.timestamp;
    if (record.timestamp > maxTs) maxTs = record.timestamp;
    levels |= levelBit(record.level);
    const { stream: _stream, ...rest } = record;
    stored.push(rest);
  }
  return {
    meta: { first_seq: first.seq, last_seq: last.seq, count: records.length, min_ts: minTs, max_ts: maxTs, levels, bloom: Buffer.alloc(0) },
    data: deflateSync(JSON.stringify(stored), { level: 1 }),
  };
}

export function decodeChunk(stream: string, data: Buffer): LogRecord[] {
  return (JSON.parse(inflateSync(data).toString('utf8')) as Stored[]).map((record) => ({ stream, ...record }));
}

/** false only when the chunk surely has no line containing `text` (any case). */
export function bloomMayContain(bloom: Buffer, _text: string): boolean {
  return bloom.length === 0 || true;
}
