/**
 * LineSplitter: bytes → line segments.
 *
 * A segment ends at `\n`, `\r\n`, a lone `\r` (a progress update: tqdm, curl, pip) or end of
 * input. Splitting happens on bytes, before decoding: `\n` and `\r` never occur inside a UTF-8
 * multi-byte sequence, so a character split across two reads is whole again once its segment is
 * complete, and each segment is decoded once (invalid bytes become U+FFFD, nothing throws).
 * A segment longer than `maxLineBytes` is emitted at once, cut at a character boundary and
 * flagged truncated, and the rest of it is skipped: memory stays bounded by the limit whatever
 * the job prints.
 */

export const SEGMENT_LINE = 0;
export const SEGMENT_PROGRESS = 1;
export type SegmentKind = typeof SEGMENT_LINE | typeof SEGMENT_PROGRESS;

export type SegmentHandler = (text: string, kind: SegmentKind, truncated: boolean) => void;

const LF = 0x0a;
const CR = 0x0d;

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024; // 64 KiB

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** the current segment was already emitted truncated: drop bytes until it ends */
  private skipping = false;
  /** the last chunk ended in `\r`: the next byte tells a CRLF from a progress update */
  private crAtEnd = false;

  constructor(
    private readonly onSegment: SegmentHandler,
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let pos = 0;
    if (this.crAtEnd) {
      this.crAtEnd = false;
      if (chunk.length > 0 && chunk[0] === LF) {
        this.finish(chunk, 0, 0, SEGMENT_LINE);
        pos = 1;
      } else {
        this.finish(chunk, 0, 0, SEGMENT_PROGRESS);
      }
    }
    const length = chunk.length;
    let nextLf = chunk.indexOf(LF, pos);
    let nextCr = chunk.indexOf(CR, pos);
    while (pos < length) {
      if (nextLf !== -1 && nextLf < pos) nextLf = chunk.indexOf(LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = chunk.indexOf(CR, pos);
      if (nextCr !== -1 && (nextLf === -1 || nextCr < nextLf)) {
        if (nextCr + 1 === length) {
          // cannot tell yet whether a `\n` follows in the next read
          this.append(chunk, pos, nextCr);
          this.crAtEnd = true;
          return;
        }
        if (chunk[nextCr + 1] === LF) {
          this.finish(chunk, pos, nextCr, SEGMENT_LINE);
          pos = nextCr + 2;
        } else {
          this.finish(chunk, pos, nextCr, SEGMENT_PROGRESS);
          pos = nextCr + 1;
        }
      } else if (nextLf !== -1) {
        this.finish(chunk, pos, nextLf, SEGMENT_LINE);
        pos = nextLf + 1;
      } else {
        this.append(chunk, pos, length);
        return;
      }
    }
  }

  /** End of input: a last line without a newline is kept. */
  end(): void {
    const empty = Buffer.alloc(0);
    if (this.crAtEnd) {
      this.crAtEnd = false;
      this.finish(empty, 0, 0, SEGMENT_PROGRESS);
    } else if (this.pendingBytes > 0) {
      this.finish(empty, 0, 0, SEGMENT_LINE);
    }
    this.skipping = false;
  }

  private append(chunk: Buffer, start: number, end: number): void {
    if (this.skipping || start === end) return;
    const room = this.maxLineBytes - this.pendingBytes;
    if (end - start > room) {
      this.pending.push(chunk.subarray(start, start + room));
      this.pendingBytes += room;
      this.emitTruncated(SEGMENT_LINE);
      return;
    }
    // copy: the caller may reuse its read buffer
    this.pending.push(Buffer.from(chunk.subarray(start, end)));
    this.pendingBytes += end - start;
  }

  private finish(chunk: Buffer, start: number, end: number, kind: SegmentKind): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    if (this.pendingBytes === 0) {
      if (end - start > this.maxLineBytes) {
        this.pending.push(chunk.subarray(start, start + this.maxLineBytes));
        this.pendingBytes = this.maxLineBytes;
        this.emitTruncated(kind);
        this.skipping = false; // the segment ends here: nothing left to skip
        return;
      }
      this.onSegment(chunk.toString('utf8', start, end), kind, false);
      return;
    }
    this.append(chunk, start, end);
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    const text = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.onSegment(text, kind, false);
  }

  private emitTruncated(kind: SegmentKind): void {
    const whole = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = true;
    this.onSegment(whole.toString('utf8', 0, completeLength(whole)), kind, true);
  }
}

/** The length of `buf` without a UTF-8 character cut off at its end (decoding it would give U+FFFD). */
function completeLength(buf: Buffer): number {
  let lead = buf.length - 1;
  while (lead >= 0 && buf.length - lead <= 3 && ((buf[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < 0) return buf.length;
  const byte = buf[lead] ?? 0;
  const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return buf.length - lead >= needed ? buf.length : lead;
}
