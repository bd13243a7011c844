/**
 * Wal: the write-ahead log of one run on the machine that runs it, so that a line read is a line
 * kept whatever happens to the runner or the hub (issue 9).
 *
 * Files, in `<data>/wal/`:
 * - `<run-id>.wal`: one line per record, in seq order: `<seq>\t<record as JSON>\n` (NDJSON with
 *   the seq in front, so a reader finds a seq without parsing the record, and the JSON is posted
 *   to the hub as it is). Appended with one write() per batch: every 256 KiB, else FLUSH_MS after
 *   the batch's first record (well inside issue 9's "on disk within 100 ms"), and always before
 *   the log file is written, so the WAL holds every line the file has. Then a line is in the
 *   kernel's page cache and survives the runner's death (SIGKILL, OOM killer); a line still in
 *   the buffer is in no file either. fdatasync runs at most every 100 ms (DEFAULTS.walSyncMs), off the
 *   event loop, so a machine crash loses at most the last ~100 ms.
 * - `<run-id>.json` (mode 0600: it holds the run's writer key): the run's create body, writer key,
 *   hub URL, the seq the hub has acknowledged, the run's end once known, and the owner process
 *   (pid + start time, to tell a dead owner). Replaced atomically (temp file + rename); fsynced
 *   when created and when the end is written; `acked_seq` is rewritten at most once a second and
 *   may lag: resending what the hub has is harmless, it keeps one copy per (stream, seq).
 *
 * What a crash leaves: complete lines, maybe a partial last one. A reader skips a line that is not
 * complete or whose JSON does not parse; a writer that resumes a WAL cuts a partial last line off
 * before appending. A write that fails (disk full) is cut back off the file (ftruncate), so the
 * file never holds half a batch, and the failure is reported to the owner with the seqs it lost.
 * Once the hub has acknowledged every line and the end, both files are deleted.
 */
import { closeSync, fdatasync, fsyncSync, ftruncateSync, fstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '../../core/config.js';
import type { Owner } from './owner.js';
import { lastLineEnd, readJoined, readPage, type JoinedPage, type WalPage } from './wal-read.js';
import { makeDirectory } from '../../core/make-dir.js';

export { eachWalLine, WalReader, type JoinedPage, type WalPage } from './wal-read.js';

export interface WalMeta {
  version: 1;
  /** the body of POST /api/runs */
  run: { id: string };
  writer_key: string;
  hub: string;
  /** every seq up to this one is on the hub */
  acked_seq: number;
  /** the run's end, once the command ended: the request that ends it on the hub */
  end?: { path: 'finish' | 'release'; body: unknown };
  owner: Owner;
  /** the hub refused the run's creation: the hub's message; nobody sends it again */
  refused?: string;
}


const FLUSH_BYTES = 256 * 1024;
/** room for a full batch and the record that fills it */
const BATCH_CAPACITY = 1024 * 1024;
/**
 * A batch waits at most this long for more records: a command printing a line a millisecond then
 * costs 50 writes a second, not 1,000 (the write per event-loop turn it was cost a quarter of the
 * runner's CPU at 1,000 lines/s).
 */
const FLUSH_MS = 20;
const META_EVERY_MS = 1000;

export function walDir(dataDir: string): string {
  return join(dataDir, 'wal');
}

export class Wal {
  readonly file: string;
  readonly metaFile: string;
  /** records that could not be written (disk full, …) */
  lost = 0;
  /** why the last write failed */
  error: string | undefined;
  private fd: number | undefined;
  private writeOffset = 0;
  /** the batch being made, as bytes: encoding each record into it costs less than joining strings */
  private batch = Buffer.allocUnsafe(BATCH_CAPACITY);
  private batchLength = 0;
  private bufferFirstSeq = 0;
  private bufferCount = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** where each written batch starts, for reading back from a seq: ascending seqs */
  private index: { seq: number; offset: number }[] = [];
  private indexHead = 0;
  private dirty = false;
  private syncing = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private metaWrittenAt = 0;
  private metaTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * Opens (or resumes) the WAL of run `meta.run.id`. Never throws: a WAL that cannot be created
   * counts every record as lost and says why in `error`.
   */
  constructor(
    dir: string,
    readonly meta: WalMeta,
    /** told of a batch the file could not take, with its lines (`<seq>\t<json>\n`): memory is all that has them */
    private readonly onWriteFailed: (count: number, firstSeq: number, error: string, lines: Buffer) => void = () => {},
  ) {
    this.file = join(dir, `${meta.run.id}.wal`);
    this.metaFile = join(dir, `${meta.run.id}.json`);
    try {
      makeDirectory(dir);
      this.fd = openSync(this.file, 'a+', 0o600); // every line the command printed: its owner's only
      const size = fstatSync(this.fd).size;
      // a partial last line (a crash in the middle of a write) would swallow the next one
      this.writeOffset = size === 0 ? 0 : lastLineEnd(this.fd, size);
      if (this.writeOffset !== size) ftruncateSync(this.fd, this.writeOffset);
      if (this.writeOffset > 0) this.index.push({ seq: 0, offset: 0 });
      this.writeMeta(true);
    } catch (error) {
      this.error = (error as Error).message;
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** The WAL held records from an earlier process (a resumed task): they go first. */
  get resumed(): boolean {
    return this.index.length > 0 && this.index[0]?.seq === 0;
  }

  get usable(): boolean {
    return this.fd !== undefined;
  }

  add(seq: number, json: string): void {
    const need = json.length * 3 + 24; // UTF-8 at worst, the seq, the tab and the newline
    if (this.batchLength + need > this.batch.length) {
      this.flush();
      // one record bigger than a batch (a line near the limit, escaped): a buffer that holds it
      if (need > this.batch.length) this.batch = Buffer.allocUnsafe(need);
    }
    if (this.bufferCount === 0) this.bufferFirstSeq = seq;
    const batch = this.batch;
    let at = this.batchLength;
    at += batch.write(String(seq), at, 'latin1');
    batch[at++] = 0x09;
    at += batch.write(json, at, 'utf8');
    batch[at++] = 0x0a;
    this.batchLength = at;
    this.bufferCount++;
    if (at >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Writes what is buffered; a write that fails is cut off the file and reported. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.bufferCount === 0) return;
    const count = this.bufferCount;
    const firstSeq = this.bufferFirstSeq;
    const length = this.batchLength;
    this.batchLength = 0;
    this.bufferCount = 0;
    if (this.fd === undefined) return this.failed(count, firstSeq, this.error ?? 'closed', length);
    // a short write (disk full) counts as a failed one
    try {
      const written = writeSync(this.fd, this.batch, 0, length, this.writeOffset);
      if (written !== length) throw new Error(`ENOSPC: short write (${written} of ${length} bytes)`);
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.writeOffset);
      } catch {
        // the reader skips a partial line anyway
      }
      return this.failed(count, firstSeq, (error as Error).message, length);
    }
    this.index.push({ seq: firstSeq, offset: this.writeOffset });
    this.writeOffset += length;
    this.dirty = true;
    this.syncTimer ??= setTimeout(() => this.sync(), DEFAULTS.walSyncMs);
  }

  /** Records from seq `from` on, at most `maxLines` and about `maxBytes`, what is buffered included. */
  read(from: number, maxLines: number, maxBytes: number): WalPage {
    this.flush();
    if (this.fd === undefined) return { json: [], seqs: [], atEnd: true };
    return readPage(this.fd, this.offsetOf(from), this.writeOffset, from, maxLines, maxBytes, false);
  }

  /** The same records as read(), as pieces of the file's bytes: the JSON of each. */
  readJoined(from: number, maxLines: number, maxBytes: number): JoinedPage {
    this.flush();
    if (this.fd === undefined) return { pieces: [], seqs: [], atEnd: true, end: 0 };
    return readJoined(this.fd, this.offsetOf(from), this.writeOffset, from, maxLines, maxBytes);
  }

  /**
   * The hub lost what it had acknowledged (it came back on an empty data directory): nothing is
   * acknowledged any more, and a read from seq 1 starts at the file's first byte again.
   */
  rewind(): void {
    this.meta.acked_seq = 0;
    this.index = [{ seq: 0, offset: 0 }, ...this.index.slice(this.indexHead)];
    this.indexHead = 0;
    this.writeMeta(false);
  }

  /** Every seq up to `seq` is on the hub: recorded (at most once a second), and the index trimmed. */
  acked(seq: number): void {
    if (seq <= this.meta.acked_seq) return;
    this.meta.acked_seq = seq;
    while (this.index.length - this.indexHead > 1 && (this.index[this.indexHead + 1]?.seq ?? Infinity) <= seq + 1) this.indexHead++;
    if (this.indexHead > 1024) {
      this.index = this.index.slice(this.indexHead);
      this.indexHead = 0;
    }
    const wait = this.metaWrittenAt + META_EVERY_MS - Date.now();
    if (wait <= 0) this.writeMeta(false);
    else this.metaTimer ??= setTimeout(() => this.writeMeta(false), wait);
  }

  /** The run's end, kept so that a later `runlog sync` can deliver it. */
  end(path: 'finish' | 'release', body: unknown): void {
    this.flush();
    this.meta.end = { path, body };
    this.writeMeta(true);
  }

  /** The hub refused the run: nobody sends it again. */
  refuse(message: string): void {
    this.meta.refused = message;
    this.writeMeta(true);
  }

  /** Stops writing and keeps the files (for a later delivery). */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearTimeout(this.syncTimer);
    clearTimeout(this.metaTimer);
    if (this.fd !== undefined) {
      try {
        if (this.dirty) fsyncSync(this.fd);
      } catch {
        // what the page cache holds survives our exit anyway
      }
      this.writeMeta(false);
      closeSync(this.fd);
    }
    this.fd = undefined;
  }

  /** Everything is on the hub: the files go. */
  remove(): void {
    this.close();
    rmSync(this.file, { force: true });
    rmSync(this.metaFile, { force: true });
  }

  private failed(count: number, firstSeq: number, error: string, length: number): void {
    this.lost += count;
    this.error = error;
    this.onWriteFailed(count, firstSeq, error, Buffer.from(this.batch.subarray(0, length)));
  }

  private offsetOf(seq: number): number {
    // the last batch starting at or before seq (binary search over ascending seqs)
    let lo = this.indexHead;
    let hi = this.index.length - 1;
    let found = this.index[lo]?.offset ?? this.writeOffset;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const entry = this.index[mid]!;
      if (entry.seq <= seq) {
        found = entry.offset;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private sync(): void {
    this.syncTimer = undefined;
    if (this.syncing || !this.dirty || this.fd === undefined) return;
    this.syncing = true;
    this.dirty = false;
    fdatasync(this.fd, () => {
      this.syncing = false;
      if (this.dirty && !this.closed) this.syncTimer ??= setTimeout(() => this.sync(), DEFAULTS.walSyncMs);
    });
  }

  private writeMeta(durable: boolean): void {
    clearTimeout(this.metaTimer);
    this.metaTimer = undefined;
    this.metaWrittenAt = Date.now();
    try {
      writeMeta(this.metaFile, this.meta, durable);
    } catch (error) {
      // disk full: the meta on disk lags; its acked_seq only saves resending
      this.error ??= (error as Error).message;
    }
  }
}

export function writeMeta(file: string, meta: WalMeta, durable: boolean): void {
  const temp = `${file}.${process.pid}.tmp`;
  const json = JSON.stringify(meta);
  // padded to whole 4 KiB blocks, so that on a full disk it can still be rewritten in place
  const text = `${json.padEnd(Math.ceil((json.length + 1024) / 4096) * 4096 - 1)}\n`;
  try {
    // a new file, never a leftover of an earlier process with our pid (containers reuse pids): the
    // mode of an existing file is kept, and this one holds the writer key
    rmSync(temp, { force: true });
    writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
    if (durable) {
      const fd = openSync(temp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    if (!rewriteInPlace(file, json)) throw error;
  }
}

/** The disk is full: overwrite the meta in the blocks it already has, when it fits. */
function rewriteInPlace(file: string, json: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r+');
    const size = fstatSync(fd).size;
    if (json.length + 1 > size) return false;
    const text = Buffer.from(`${json.padEnd(size - 1)}\n`);
    if (text.length !== size) return false; // multi-byte characters: the padding would not fit
    writeSync(fd, text, 0, size, 0);
    fsyncSync(fd);
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The seq of the last complete record in run `runId`'s WAL, 0 when there is none: a task claimed
 * again on the machine that ran it before resumes that WAL, and its new lines must be numbered
 * after the old ones the hub may not have yet (else they would be taken for duplicates).
 */
export function lastSeqInWal(dir: string, runId: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, `${runId}.wal`), 'r');
    const end = lastLineEnd(fd, fstatSync(fd).size);
    if (end === 0) return 0;
    const start = lastLineEnd(fd, end - 1); // the line before the last one ends where the last begins
    const head = Buffer.alloc(Math.min(32, end - start));
    readSync(fd, head, 0, head.length, start);
    const text = head.toString('latin1');
    const seq = Number(text.slice(0, text.indexOf('\t')));
    return Number.isInteger(seq) && seq > 0 ? seq : 0;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The runs whose WAL is in `dir`, with their metadata (a meta that does not parse is skipped). */
export function listWals(dir: string): { id: string; meta: WalMeta; metaFile: string; file: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const metaFile = join(dir, name);
    const meta = readWalMeta(metaFile);
    if (meta !== undefined) found.push({ id: meta.run.id, meta, metaFile, file: join(dir, `${meta.run.id}.wal`) });
  }
  return found;
}

/** A WAL's metadata as it is on disk now; undefined when it is gone (delivered), being replaced, or not a WAL's. */
export function readWalMeta(metaFile: string): WalMeta | undefined {
  try {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as WalMeta;
    return meta.version === 1 && typeof meta.run?.id === 'string' ? meta : undefined;
  } catch {
    return undefined; // not ours to touch
  }
}
