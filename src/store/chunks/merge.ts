/**
 * Compaction's merge: consecutive chunks of one stream → one chunk. A segment of a good size
 * keeps its compressed bytes and its bloom as they are (a copy); small segments (a worker's
 * lines arrive a few at a time) are decoded and encoded again with their small neighbours, so
 * a merged chunk is never a string of tiny segments that compress badly.
 */
import type { LogRecord } from '../../core/record.js';
import { splitBlooms } from './bloom.js';
import { decodeSegment, encodeChunk, joinSegments, splitSegments, type ChunkMeta, type EncodedChunk } from './codec.js';

/** a segment with fewer lines is encoded again with its small neighbours */
export const SMALL_SEGMENT_LINES = 256;

/** Chunks of one stream, in seq order, with disjoint seq ranges → one chunk. */
export function mergeChunks(parts: readonly EncodedChunk[]): EncodedChunk {
  const entries: Buffer[] = [];
  const blooms: Buffer[] = [];
  let pending: LogRecord[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const encoded = encodeChunk(pending);
    entries.push(...splitSegments(encoded.data).map((segment) => segment.entry));
    blooms.push(encoded.meta.bloom);
    pending = [];
  };
  for (const part of parts) {
    const segments = splitSegments(part.data);
    const partBlooms = splitBlooms(part.meta.bloom);
    for (const [i, segment] of segments.entries()) {
      const bloom = partBlooms[i];
      if (segment.count < SMALL_SEGMENT_LINES || bloom === undefined || partBlooms.length !== segments.length) {
        decodeSegment('', segment, pending);
      } else {
        flush();
        entries.push(segment.entry);
        blooms.push(bloom);
      }
    }
  }
  flush();
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (first === undefined || last === undefined) throw new Error('mergeChunks: no parts');
  const meta: ChunkMeta = {
    first_seq: first.meta.first_seq,
    last_seq: last.meta.last_seq,
    count: 0,
    min_ts: Infinity,
    max_ts: -Infinity,
    levels: 0,
    bloom: Buffer.concat(blooms),
  };
  for (const part of parts) {
    meta.count += part.meta.count;
    meta.min_ts = Math.min(meta.min_ts, part.meta.min_ts);
    meta.max_ts = Math.max(meta.max_ts, part.meta.max_ts);
    meta.levels |= part.meta.levels;
  }
  return { meta, data: joinSegments(entries) };
}
