/**
 * LineQueue: the lines a HubShipper has not delivered yet, where they wait, and which go next.
 *
 * - Every line goes to the run's WAL first (when there is one; `add`). While the hub keeps up, the
 *   line also waits in memory, as its JSON, and the next batch is taken from there (`take`).
 * - Past `maxMemoryLines` (or MAX_MEMORY_CHARS of long lines) the queue is "behind": memory lets its
 *   lines go, and the next batches are read back from the WAL from `cursor` (the first seq not
 *   acknowledged), until the reading catches up and memory takes over again.
 * - The WAL may fail to take lines (a full disk): those are "volatile", memory is all that has
 *   them. While the queue keeps up they stay in memory (up to MAX_VOLATILE_LINES, past that the
 *   oldest go, counted in `lost`); behind, they are kept apart as "orphans" and merged, in seq
 *   order, with what is read back from the WAL.
 * - `ack(batch)`: the hub has the batch; the WAL learns its last seq, and a restarted process (or
 *   `runlog sync`) starts after it.
 */
import { eachWalLine, type Wal } from '../pipeline/spool/wal.js';
import type { LogRecord } from '../core/record.js';

/** A batch of lines to send: their JSON from memory, or pieces of the WAL's bytes. */
export interface LineBatch {
  /** the records' JSON, from memory … */
  json?: string[];
  /** … or read back from the WAL (pieces of the file's bytes) */
  pieces?: Buffer[];
  seqs: number[];
  /** read back from the WAL: where the reading goes on once it is acknowledged */
  nextCursor?: number;
}

/** 2 MiB: well under the hub's body limit, and the runner's memory stays small */
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
/** lines that only memory holds (the WAL cannot be written): kept up to this many (~25 MB) while the hub takes them */
const MAX_VOLATILE_LINES = 100_000;
/** past this many characters waiting in memory (long lines), the queue reads from the WAL as past maxMemoryLines */
const MAX_MEMORY_CHARS = 4 * 1024 * 1024;

export class LineQueue {
  /** lines neither on disk nor delivered (the WAL could not be written and the hub did not get them) */
  lost = 0;
  private wal: Wal | undefined;
  private pendingJson: string[] = [];
  private pendingSeqs: number[] = [];
  /** characters of pendingJson: long lines reach the memory bound before their count does */
  private pendingChars = 0;
  /** past the memory bound: what to send is read back from the WAL from `cursor` on */
  private behind = false;
  private cursor = 0;
  private acked = 0;
  /** seq ranges the WAL could not take while they were in memory: lost if memory lets them go */
  private volatile: [number, number][] = [];
  /** lines the WAL could not take while the queue was behind (read back from the WAL): memory is all that has them, in seq order */
  private orphans: { json: string[]; seqs: number[] } = { json: [], seqs: [] };

  constructor(
    private readonly maxMemoryLines: number,
    private readonly stats: { walReads: number },
  ) {}

  /** The run's WAL, before the first line: one an earlier process left (resumed) is read first. */
  attach(wal: Wal): void {
    this.wal = wal;
    if (wal.resumed) this.behind = true; // an earlier process's lines go first
  }

  /** the last seq the hub acknowledged */
  get ackedSeq(): number {
    return this.acked;
  }

  /** lines waiting in memory (behind, the rest wait in the WAL) */
  get waiting(): number {
    return this.pendingJson.length;
  }

  get isBehind(): boolean {
    return this.behind;
  }

  add(seq: number, json: string): void {
    this.wal?.add(seq, json);
    if (this.behind) return;
    this.pendingJson.push(json);
    this.pendingSeqs.push(seq);
    this.pendingChars += json.length;
    // away or just slower than the command: memory stays bounded either way
    if ((this.pendingJson.length > this.maxMemoryLines || this.pendingChars > MAX_MEMORY_CHARS) && this.wal) {
      if (this.wal.usable && this.volatile.length === 0) this.fallBehind();
      // the WAL cannot take them (no disk): memory is all they have, so it holds more of them,
      // and past that the oldest go, counted
      else if (this.pendingJson.length > MAX_VOLATILE_LINES) this.dropOldest(MAX_VOLATILE_LINES);
    }
  }

  /** The next batch, at most `max` lines and about MAX_BATCH_BYTES; undefined when nothing waits. */
  take(max: number): LineBatch | undefined {
    if (this.behind && this.wal) {
      // what waits to be written goes first: a write that fails makes orphans of its lines now,
      // before the choice of how to read (else the queue could leave "behind" without them)
      this.wal.flush();
      if (this.orphans.seqs.length > 0) return this.mergeOrphans(max);
      const page = this.wal.readJoined(this.cursor, max, MAX_BATCH_BYTES);
      this.stats.walReads++;
      // caught up: what comes next waits in memory again
      if (page.atEnd && this.orphans.seqs.length === 0) this.behind = false;
      if (page.seqs.length > 0) {
        const last = page.seqs.at(-1)!;
        return { pieces: page.pieces, seqs: page.seqs, nextCursor: last + 1 };
      }
    }
    const count = batchLength(this.pendingJson, max);
    if (count === 0) return undefined;
    const all = count === this.pendingJson.length;
    const json = all ? this.pendingJson : this.pendingJson.slice(0, count);
    const seqs = all ? this.pendingSeqs : this.pendingSeqs.slice(0, count);
    this.pendingChars = all ? 0 : this.pendingChars - charsOf(json);
    this.pendingJson = all ? [] : this.pendingJson.slice(count);
    this.pendingSeqs = all ? [] : this.pendingSeqs.slice(count);
    return { json, seqs };
  }

  /** The hub has the batch. */
  ack(batch: LineBatch): void {
    if (batch.nextCursor !== undefined) this.cursor = Math.max(this.cursor, batch.nextCursor);
    const last = batch.seqs.at(-1);
    if (last !== undefined && last > this.acked) {
      this.acked = last;
      this.wal?.acked(last);
      while (this.volatile.length > 0 && this.volatile[0]![1] <= last) this.volatile.shift();
    }
  }

  /**
   * Everything again from the WAL's first line (the hub lost the run's lines). False when that
   * cannot be: no usable WAL, or lines only memory holds.
   */
  rewind(): boolean {
    if (!this.wal?.usable || this.volatile.length > 0) return false;
    this.wal.flush();
    this.wal.rewind();
    this.pendingJson = [];
    this.pendingSeqs = [];
    this.pendingChars = 0;
    this.acked = 0;
    this.cursor = 1;
    this.behind = true;
    return true;
  }

  /** The WAL could not take these lines (`<seq>\t<json>\n` each). */
  walFailed(count: number, firstSeq: number, lines: Buffer): void {
    this.volatile.push([firstSeq, firstSeq + count - 1]);
    // behind, the lines are nowhere else (memory keeps them only while the queue keeps up)
    if (this.behind) this.keepOrphans(lines);
  }

  /**
   * What the hub never acknowledged, page by page (the WAL's records, then those only memory
   * holds, `inFlight` included): for the local store when the hub stayed away or refused the run.
   */
  *unsent(inFlight: LineBatch | undefined, pageLines: number): Generator<LogRecord[]> {
    const taken = new Set<number>();
    let last = 0;
    if (this.wal) {
      for (let from = this.acked + 1; ; ) {
        const page = this.wal.read(from, pageLines, 64 * 1024 * 1024);
        if (page.json.length === 0) break;
        yield page.json.map((json) => JSON.parse(json) as LogRecord);
        last = page.seqs.at(-1) ?? last;
        from = last + 1;
        if (page.atEnd) break;
      }
    }
    // memory: what the WAL could not take (and everything, without a WAL)
    const memory: LogRecord[] = [];
    const take = (json: string[], seqs: number[]) => {
      for (const [i, seq] of seqs.entries()) {
        if (seq > this.acked && (seq > last || this.isVolatile(seq)) && !taken.has(seq)) {
          taken.add(seq);
          memory.push(JSON.parse(json[i]!) as LogRecord);
        }
      }
    };
    if (inFlight?.json) take(inFlight.json, inFlight.seqs); // a batch read back is in the WAL
    take(this.orphans.json, this.orphans.seqs);
    take(this.pendingJson, this.pendingSeqs);
    if (memory.length > 0) yield memory;
  }

  /** Lines lost for want of disk that the hub never got either (memory let them go unsent), `inFlight` included. */
  countUnsentVolatile(inFlight: LineBatch | undefined): number {
    let count = 0;
    for (const seq of [...(inFlight?.seqs ?? []), ...this.orphans.seqs, ...this.pendingSeqs]) if (seq > this.acked && this.isVolatile(seq)) count++;
    return count;
  }

  /**
   * Behind, with lines the WAL could not take (a full disk): the WAL's next page and those lines,
   * merged in seq order. Lines past the page's last one wait for the next page, unless the WAL
   * has no more.
   */
  private mergeOrphans(max: number): LineBatch {
    const page = this.wal!.read(this.cursor, max, MAX_BATCH_BYTES);
    this.stats.walReads++;
    const limit = page.atEnd ? Infinity : (page.seqs.at(-1) ?? 0);
    const orphans = this.orphans;
    const json: string[] = [];
    const seqs: number[] = [];
    let i = 0;
    let j = 0;
    while (i < page.seqs.length || (j < orphans.seqs.length && orphans.seqs[j]! <= limit)) {
      const fromPage = j >= orphans.seqs.length || orphans.seqs[j]! > limit || (i < page.seqs.length && page.seqs[i]! < orphans.seqs[j]!);
      if (fromPage) {
        json.push(page.json[i]!);
        seqs.push(page.seqs[i++]!);
      } else {
        json.push(orphans.json[j]!);
        seqs.push(orphans.seqs[j++]!);
      }
    }
    this.orphans = { json: orphans.json.slice(j), seqs: orphans.seqs.slice(j) };
    if (page.atEnd && this.orphans.seqs.length === 0) this.behind = false;
    return { json, seqs, nextCursor: (seqs.at(-1) ?? this.cursor - 1) + 1 };
  }

  /** Too far behind for memory: forget the pending lines, read them back from the WAL. */
  private fallBehind(): void {
    this.wal?.flush(); // a failing write is known before memory lets its lines go …
    if (this.volatile.length > 0) return; // … and then memory keeps them (see add)
    this.cursor = this.pendingSeqs[0] ?? this.cursor;
    this.pendingJson = [];
    this.pendingSeqs = [];
    this.pendingChars = 0;
    this.behind = true;
  }

  /** The lines of a batch the WAL could not take (`<seq>\t<json>\n` each), kept in memory, within MAX_VOLATILE_LINES. */
  private keepOrphans(lines: Buffer): void {
    eachWalLine(lines, (seq, jsonStart, jsonEnd) => {
      this.orphans.seqs.push(seq);
      this.orphans.json.push(lines.toString('utf8', jsonStart, jsonEnd));
      return true;
    });
    const extra = this.orphans.seqs.length - MAX_VOLATILE_LINES;
    if (extra > 0) {
      this.orphans.json.splice(0, extra);
      this.orphans.seqs.splice(0, extra);
      this.lost += extra;
    }
  }

  private dropOldest(keep: number): void {
    const count = this.pendingJson.length - keep;
    this.pendingChars -= charsOf(this.pendingJson.slice(0, count));
    this.pendingJson.splice(0, count);
    this.pendingSeqs.splice(0, count);
    this.lost += count;
  }

  private isVolatile(seq: number): boolean {
    return this.volatile.some(([from, to]) => seq >= from && seq <= to);
  }
}

function charsOf(json: readonly string[]): number {
  let chars = 0;
  for (const line of json) chars += line.length;
  return chars;
}

/** How many of the first records make a batch: at most `max` lines and about MAX_BATCH_BYTES. */
function batchLength(json: readonly string[], max: number): number {
  let bytes = 0;
  const limit = Math.min(json.length, max);
  for (let i = 0; i < limit; i++) {
    bytes += (json[i]?.length ?? 0) * 3; // worst case UTF-8
    if (bytes > MAX_BATCH_BYTES) return Math.max(1, i);
  }
  return limit;
}
