/**
 * The order of search results (GET /api/search, `runlog grep`), the same in every store: newest
 * first by timestamp, then by stream, then by seq, each descending. It is total (a line is its
 * (stream, seq)), so a page's last line is an exact cursor even when thousands of lines share
 * one microsecond: the next page is what comes after it, each line once.
 */
import type { LogRecord } from '../core/record.js';

/** A line of a previous page: the next page holds the lines after it. */
export interface SearchCursor {
  stream: string;
  seq: number;
}

/**
 * Streams by code point, the order of UTF-8 bytes: PostgreSQL sorts them so with `COLLATE "C"`
 * (a worker id there may be any text); JavaScript's `<` compares UTF-16 units, which differs
 * for characters beyond U+FFFF.
 */
export function compareStreams(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function newestFirst(a: LogRecord, b: LogRecord): number {
  return b.timestamp - a.timestamp || compareStreams(b.stream, a.stream) || b.seq - a.seq;
}

/** Whether `record` comes after the line `before`, captured at `until`, in this order. */
export function isAfterCursor(record: LogRecord, until: number, before: SearchCursor): boolean {
  if (record.timestamp !== until) return record.timestamp < until;
  const byStream = compareStreams(record.stream, before.stream);
  return byStream < 0 || (byStream === 0 && record.seq < before.seq);
}
