/**
 * Reading a WAL (format: the header of wal.ts): pages of records from a seq on, for the shipper
 * catching up and for `runlog sync`, which also skips damaged lines (a machine crash may leave
 * zeros or half a line); and where the last complete line ends, for a writer that resumes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface WalPage {
  /** each record's JSON, as written */
  json: string[];
  /** the seq of each record */
  seqs: number[];
  /** the file held nothing more after these */
  atEnd: boolean;
}

const READ_CHUNK = 1024 * 1024;

/** Reads a WAL left by another process, page by page from seq `from`, skipping damaged lines. */
export class WalReader {
  private readonly fd: number | undefined;
  private readonly size: number;
  private offset = 0;

  constructor(file: string) {
    try {
      this.fd = openSync(file, 'r');
      this.size = fstatSync(this.fd).size;
    } catch {
      this.fd = undefined;
      this.size = 0;
    }
  }

  next(from: number, maxLines: number, maxBytes: number): WalPage & { lastOffset: number } {
    if (this.fd === undefined) return { json: [], seqs: [], atEnd: true, lastOffset: 0 };
    const page = readPage(this.fd, this.offset, this.size, from, maxLines, maxBytes, true);
    this.offset = page.end;
    return { ...page, lastOffset: page.end };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

/**
 * Lines of `fd` between `start` and `end` whose seq is ≥ `from`; `check` parses each record to
 * skip a damaged one (another process's WAL after a machine crash).
 */
export function readPage(fd: number, start: number, end: number, from: number, maxLines: number, maxBytes: number, check: boolean): WalPage & { end: number } {
  const json: string[] = [];
  const seqs: number[] = [];
  const scanned = scanPage(fd, start, end, from, maxLines, maxBytes, (data, jsonStart, jsonEnd, seq) => {
    const text = data.toString('utf8', jsonStart, jsonEnd);
    if (check && !isJson(text)) return false;
    json.push(text);
    seqs.push(seq);
    return true;
  });
  return { json, seqs, ...scanned };
}

/** A page as the body of a POST takes it: each record's JSON, a piece of the file's bytes (no string per line, no copy). */
export interface JoinedPage {
  pieces: Buffer[];
  seqs: number[];
  atEnd: boolean;
  end: number;
}

export function readJoined(fd: number, start: number, end: number, from: number, maxLines: number, maxBytes: number): JoinedPage {
  const pieces: Buffer[] = [];
  const seqs: number[] = [];
  const scanned = scanPage(fd, start, end, from, maxLines, maxBytes, (data, jsonStart, jsonEnd, seq) => {
    pieces.push(data.subarray(jsonStart, jsonEnd));
    seqs.push(seq);
    return true;
  });
  return { pieces, seqs, ...scanned };
}

/**
 * Walks the lines `<seq>\t<json>\n` of `fd` from `start` to `end`, giving `take` each one whose seq
 * is ≥ `from` (the bytes of its JSON), until `maxLines` were taken or about `maxBytes`. A partial
 * last line is a crash's leftover or a write in progress: not read.
 */
function scanPage(
  fd: number,
  start: number,
  end: number,
  from: number,
  maxLines: number,
  maxBytes: number,
  take: (data: Buffer, jsonStart: number, jsonEnd: number, seq: number) => boolean,
): { atEnd: boolean; end: number } {
  let lines = 0;
  let bytes = 0;
  let offset = start;
  let carry: Buffer | undefined;
  while (offset < end && lines < maxLines && bytes < maxBytes) {
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - offset));
    const read = readSync(fd, chunk, 0, chunk.length, offset);
    if (read <= 0) break;
    const data: Buffer = carry ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
    const dataStart = offset - (carry?.length ?? 0);
    offset += read;
    const consumed = eachWalLine(data, (seq, jsonStart, jsonEnd) => {
      if (Number.isInteger(seq) && seq >= from && take(data, jsonStart, jsonEnd, seq)) {
        lines++;
        bytes += jsonEnd - jsonStart + 1;
      }
      return lines < maxLines && bytes < maxBytes;
    });
    if (lines >= maxLines || bytes >= maxBytes) {
      const stop = dataStart + consumed;
      return { atEnd: stop >= end, end: stop };
    }
    carry = consumed < data.length ? data.subarray(consumed) : undefined;
  }
  return { atEnd: true, end: offset - (carry?.length ?? 0) };
}

/**
 * The complete lines `<seq>\t<json>\n` at the start of `data`, in order: `visit` gets each one's
 * seq (NaN when the line has none) and where its JSON's bytes are, and returns false to stop.
 * Returns where the last line visited ends (a partial last line is not visited).
 */
export function eachWalLine(data: Buffer, visit: (seq: number, jsonStart: number, jsonEnd: number) => boolean): number {
  let consumed = 0;
  for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, consumed)) {
    const tab = data.indexOf(0x09, consumed);
    const seq = tab !== -1 && tab < nl ? Number(data.toString('latin1', consumed, tab)) : NaN;
    consumed = nl + 1;
    if (!visit(seq, tab + 1, nl)) break;
  }
  return consumed;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The offset just after the last `\n` of the file (0 when there is none). */
export function lastLineEnd(fd: number, size: number): number {
  const chunk = Buffer.allocUnsafe(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const read = readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, read).lastIndexOf(0x0a);
    if (at !== -1) return start + at + 1;
    end = start;
  }
  return 0;
}
