/**
 * LineFeed: a file's bytes, read at known offsets, → a RecordBuilder source, remembering which
 * byte offset each delivered seq stands for.
 *
 * Only whole segments are pushed: the bytes after the last `\n` or `\r` are held until their line
 * ends. So after a push that ends in `\n` the splitter, the progress collapser and the feed agree
 * that every byte before the offset is a record with a seq ≤ the builder's last seq, and nothing
 * after it is: that (seq, offset) pair is what a checkpoint may store once the hub has the seq.
 * A held partial line is pushed after `partialTimeoutMs` without growth (a writer that stopped
 * mid-line, a file that never ends in a newline); a progress bar (bytes after a `\r`) is not, since
 * its next update replaces it.
 * A UTF-8 BOM at byte 0 of a file (Windows tools write one) is counted as read and never pushed:
 * it is no text of the first line.
 */
import { DEFAULT_MAX_LINE_BYTES } from '../../core/lines.js';
import { BomSkipper } from '../../core/text.js';
import { fingerprint, FINGERPRINT_BYTES } from './checkpoint.js';

export interface ByteSink {
  push(chunk: Buffer): void;
  end(): void;
}

/** What identifies the bytes an offset counts into (see checkpoint.ts). */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** sha256 (hex, 32 chars) of the first fp_len bytes */
  fp: string;
  fp_len: number;
}

export interface DeliveryMark extends FileIdentity {
  seq: number;
  offset: number;
}

/**
 * A mark after a push, with where that push began: its records are (from.seq, seq], from the bytes
 * [from.offset, offset); `epoch`: which start of the file it counts in (restart() begins another).
 */
interface PushMark extends DeliveryMark {
  from?: { seq: number; offset: number };
  epoch: number;
}

/** The bytes of the file at [offset, offset + length), read again (undefined: cannot be). */
export type Reread = (offset: number, length: number) => Buffer | undefined;

/** how many of the last bytes read a feed keeps, to tell a file's real copy from a look-alike */
export const TAIL_BYTES = 1024;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

export class LineFeed {
  /** the next byte of the file to read */
  offset: number;
  /** when bytes last came (ms) */
  lastGrowthAt = Date.now();
  private held: Buffer = EMPTY;
  /** the last terminator pushed was a `\r`: what is held is a progress bar */
  private inBar = false;
  /** marks not yet known delivered, in seq order */
  private marks: PushMark[] = [];
  /** the last exact mark found inside a push (exactMark): a batch asks once before it is sent, once when the hub has it */
  private lastExact: { inside: PushMark; mark: PushMark } | undefined;
  /** the last bytes before `offset` (up to TAIL_BYTES; fewer at a file's start or after a resume) */
  private tailBytes: Buffer;
  /** from byte 0 of the file on: its BOM, if any, is dropped (its bytes may come in separate reads) */
  private bom: BomSkipper | undefined;
  /** the last mark made (marks are forgotten once delivered) */
  private latest: PushMark | undefined;
  /** the last mark delivered() gave, or where the feed began: what it gives while no later mark is delivered */
  private given: PushMark;
  /** restart() calls so far: a mark of an earlier epoch counts into other bytes (a truncated file's old content) */
  private epoch = 0;
  /** the file's first bytes as read (up to FINGERPRINT_BYTES), when read from byte 0 */
  private head: Buffer | undefined;

  constructor(
    private readonly out: ByteSink,
    private readonly lastSeq: () => number,
    public identity: FileIdentity,
    offset: number,
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    tail: Buffer = EMPTY,
    /** reads the file again: a mark inside a push is then found exactly (see exactMark) */
    private readonly reread?: Reread,
  ) {
    this.offset = offset;
    this.tailBytes = tail;
    this.head = offset === 0 ? EMPTY : undefined;
    this.given = { ...identity, seq: lastSeq(), offset, epoch: 0 };
  }

  /** The bytes just before `offset`: a copy of the file holds them at the same place. */
  get tail(): Buffer {
    return this.tailBytes;
  }

  /** bytes held back as an unfinished line */
  get heldBytes(): number {
    return this.held.length;
  }

  /**
   * Part of the line held began before the file's start (kept across a copytruncate): no
   * checkpoint offset can stand for it, so a follower that stops must ship it as it is.
   */
  get heldBeforeStart(): boolean {
    return this.held.length > this.offset;
  }

  /** The bytes at `this.offset`. */
  take(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.offset === 0) this.bom = new BomSkipper();
    this.offset += chunk.length;
    this.growHead(chunk);
    this.tailBytes =
      chunk.length >= TAIL_BYTES ? Buffer.from(chunk.subarray(chunk.length - TAIL_BYTES)) : Buffer.concat([this.tailBytes, chunk]).subarray(-TAIL_BYTES);
    const text = this.bom === undefined ? chunk : this.bom.take(chunk);
    if (text.length > 0) this.split(text);
    // after the push: a slow sink (a spool write) must not make the file look idle
    this.lastGrowthAt = Date.now();
  }

  /**
   * A young file's fingerprint grows with the bytes read (up to FINGERPRINT_BYTES): a file seen
   * empty, or still shorter than that, then replaced (deleted and made again on its inode number,
   * or truncated and written again) while the follower was stopped is told by the bytes that
   * were there, even when none of them was a whole line yet (a checkpoint at byte 0).
   */
  private growHead(chunk: Buffer): void {
    if (this.head === undefined || this.head.length >= FINGERPRINT_BYTES) return;
    this.head = Buffer.concat([this.head, chunk.subarray(0, FINGERPRINT_BYTES - this.head.length)]);
    if (this.head.length > this.identity.fp_len) this.identity = { ...this.identity, fp: fingerprint(this.head), fp_len: this.head.length };
  }

  private split(chunk: Buffer): void {
    const data = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const start = this.offset - data.length; // where data's first byte is in the file
    const lf = data.lastIndexOf(LF);
    const cr = data.lastIndexOf(CR);
    const cut = Math.max(lf, cr);
    if (cut === -1) {
      // copy: the reader reuses its buffer
      this.held = Buffer.from(data);
      if (this.held.length > this.maxLineBytes) this.pushHeld(); // the splitter cuts it
      return;
    }
    const before = this.lastSeq();
    const wasBar = this.inBar;
    this.out.push(data.subarray(0, cut + 1));
    this.held = cut + 1 === data.length ? EMPTY : Buffer.from(data.subarray(cut + 1));
    this.inBar = cr > lf;
    // after a line end, every byte before `start` was a record by `before`: a batch ending inside
    // this push is placed exactly by counting its lines (see exactMark)
    if (!this.inBar) this.mark(this.offset - this.held.length, wasBar || start < 0 ? undefined : { seq: before, offset: start });
    else {
      // a progress bar is pending (its states are not records): the lines up to the last `\n`
      // before it are, so that is where a restart goes on (after the bar's start it would read
      // the line before the bar again under a new seq)
      if (lf !== -1) this.mark(start + lf + 1);
      if (this.held.length > this.maxLineBytes) this.pushHeld();
    }
  }

  /** A writer that stopped mid-line: after the timeout the partial line is a line. */
  flushIfIdle(timeoutMs: number, now = Date.now()): void {
    if (this.held.length === 0 || this.inBar || now - this.lastGrowthAt < timeoutMs) return;
    this.flush();
  }

  /** Everything held becomes records (the file is done, or the run ends). */
  flush(): void {
    this.holdHead();
    this.pushHeld();
    this.out.end();
    this.inBar = false;
    this.mark(this.offset);
  }

  /**
   * The file behind the name started over (truncated, replaced): count from `offset` of it. A
   * partial line of the old content stays held when `keepHeld` (a copytruncate writer goes on
   * with it); else it is a line of its own (a new writer, `tee` starting over, begins a new line).
   */
  restart(identity: FileIdentity, offset: number, keepHeld: boolean): void {
    this.holdHead();
    if (!keepHeld && this.held.length > 0) {
      this.pushHeld();
      this.out.end();
      this.inBar = false;
    }
    this.identity = identity;
    this.offset = offset;
    this.tailBytes = EMPTY;
    this.epoch++;
    this.head = offset === 0 ? EMPTY : undefined;
    this.mark(offset - this.held.length);
  }

  /** The last mark at or below a delivered seq, and forgets the marks before it (unless only asked: `keep`). */
  delivered(seq: number, keep = false): DeliveryMark | undefined {
    let found: PushMark | undefined;
    let index = 0;
    while (index < this.marks.length && (this.marks[index]?.seq ?? Infinity) <= seq) found = this.marks[index++];
    const exact = this.exactMark(this.marks[index], seq, found);
    if (index > 0 && !keep) this.marks = this.marks.slice(index);
    const mark = exact ?? found ?? (this.given.seq <= seq ? this.given : undefined);
    if (mark === undefined) return undefined;
    if (!keep) this.given = mark;
    return strip(this.withHead(mark));
  }

  /** A mark with the fingerprint of the first bytes read since (the same start of the same file). */
  private withHead(mark: PushMark): PushMark {
    const { ino, dev, fp, fp_len } = this.identity;
    return mark.epoch === this.epoch && mark.ino === ino && mark.dev === dev && fp_len > mark.fp_len ? { ...mark, fp, fp_len } : mark;
  }

  /**
   * A batch usually ends inside a push (a read is up to 1 MiB of lines, a batch 5,000): the last
   * mark at or below its seq then stands for fewer lines than the hub has, and a restart with
   * several files (a rotated one beside the new), numbering on from the checkpoint's last seq,
   * sent those lines again. When the push's bytes are one record per line end (no lone `\r`, no
   * line cut at maxLineBytes: the count of line ends says so), the offset after the line of `seq`
   * is where the hub's lines end. Else the mark below stands (those lines may come twice).
   */
  private exactMark(next: PushMark | undefined, seq: number, found: DeliveryMark | undefined): PushMark | undefined {
    const from = next?.from;
    if (next === undefined || from === undefined || this.reread === undefined || from.seq >= seq || next.seq <= seq) return undefined;
    if (found !== undefined && (found.offset > from.offset || found.seq > from.seq)) return undefined;
    // the same batch asked again (sent, then taken): its bytes were counted already
    if (this.lastExact?.inside === next && this.lastExact.mark.seq === seq) return this.lastExact.mark;
    const bytes = this.reread(from.offset, next.offset - from.offset);
    if (bytes === undefined || bytes.length !== next.offset - from.offset) return undefined;
    const wanted = seq - from.seq;
    let lines = 0;
    let end = 0;
    for (let at = 0; at < bytes.length; at++) {
      const byte = bytes[at];
      if (byte === LF && ++lines === wanted) end = at + 1;
      else if (byte === CR && bytes[at + 1] !== LF) return undefined; // a progress bar, or old Mac line ends: not counted here
    }
    if (lines !== next.seq - from.seq) return undefined; // a line cut in parts, or lines collapsed: counts differ
    const { from: _from, ...rest } = next;
    const mark: PushMark = { ...rest, seq, offset: from.offset + end };
    this.lastExact = { inside: next, mark };
    return mark;
  }

  /**
   * A record made beside the file's (a note at a stop) took the next seq: the last place marked
   * again with it, so that a checkpoint says a restart numbers on after that record (one of the
   * file's next lines numbered onto it would be dropped by the hub as a repeat).
   */
  remark(): void {
    this.mark(this.latest?.offset ?? this.offset - this.held.length);
  }

  /** Marks still waiting for the hub. */
  get undelivered(): number {
    return this.marks.length;
  }

  /** A file that ends (or starts over) inside what could have been a BOM: those bytes are text after all. */
  private holdHead(): void {
    const rest = this.bom?.rest();
    this.bom = undefined;
    if (rest !== undefined && rest.length > 0) this.held = Buffer.concat([this.held, rest]);
  }

  private pushHeld(): void {
    if (this.held.length === 0) return;
    this.out.push(this.held);
    this.held = EMPTY;
  }

  private mark(offset: number, from?: { seq: number; offset: number }): void {
    const seq = this.lastSeq();
    const last = this.marks[this.marks.length - 1];
    const mark: PushMark = { ...this.identity, seq, offset: Math.max(0, offset), epoch: this.epoch, ...(from === undefined ? {} : { from }) };
    // the same seq again (no new record): the later offset replaces the earlier
    if (last !== undefined && last.seq === seq) this.marks[this.marks.length - 1] = mark;
    else this.marks.push(mark);
    this.latest = mark;
  }
}

/** A mark as a checkpoint stores it (without where its push began, or its epoch). */
function strip(mark: PushMark): DeliveryMark {
  const { from: _from, epoch: _epoch, ...rest } = mark;
  return rest;
}
