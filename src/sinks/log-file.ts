/**
 * LogFileSink: the run's log file on the machine that ran it, `<log-dir>/<run-id>.log`, a line
 * per record: `<ISO timestamp> [LEVEL] message` without ANSI codes. Writes are batched by size
 * and time (like sonic-boom) so a line costs a string append, not a syscall.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatLogFileLine } from '../core/format.js';
import type { LogRecord, ProgressUpdate } from '../core/record.js';
import type { RecordSink } from '../pipeline/records.js';
import { makeDirectory } from '../core/make-dir.js';

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 50;

export class LogFileSink implements RecordSink {
  readonly path: string;
  private readonly fd: number | undefined;
  private readonly openError: string | undefined;
  private buffer = '';
  private timer: NodeJS.Timeout | undefined;
  /** lines that could not be written (disk full, …): counted, never thrown at the command */
  lost = 0;

  constructor(
    dir: string,
    runId: string,
    private readonly warn: (message: string) => void = () => {},
    /** called before each write: the WAL writes first, so it always holds every line the file has */
    private readonly beforeWrite: () => void = () => {},
  ) {
    this.path = join(dir, `${runId}.log`);
    try {
      makeDirectory(dir);
      this.fd = openSync(this.path, 'a');
    } catch (error) {
      // a full disk: the command runs anyway, its lines are counted as missing from the file
      this.openError = (error as Error).message;
    }
  }

  record(record: LogRecord): void {
    this.buffer += formatLogFileLine(record);
    if (this.buffer.length >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  progress(_update: ProgressUpdate): void {
    // the file keeps only the final state of a bar, which arrives as a record
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    this.beforeWrite();
    try {
      if (this.fd === undefined) throw new Error(this.openError);
      this.writeWholeLines(this.fd, Buffer.from(text));
    } catch (error) {
      if (this.lost === 0) this.warn(`cannot write the log file ${this.path}: ${(error as Error).message}`);
      this.lost += countLines(text);
    }
  }

  /**
   * Writes `bytes`, or throws. A short write (the disk full) keeps the whole lines it wrote and
   * cuts off its torn last line, which the next write's first line would have been glued to; the
   * lines not kept are counted in `lost`, so that the count says every line the file lacks.
   */
  private writeWholeLines(fd: number, bytes: Buffer): void {
    const written = writeSync(fd, bytes);
    if (written === bytes.length) return;
    // only on a short write is the file's size asked: it ends where those `written` bytes end
    const start = fstatSync(fd).size - written;
    // (lastIndexOf from -1 would search from the end: a write of nothing keeps nothing)
    const kept = written === 0 ? 0 : bytes.lastIndexOf(0x0a, written - 1) + 1;
    ftruncateSync(fd, start + kept);
    const rest = bytes.subarray(kept).toString();
    if (this.lost === 0) this.warn(`cannot write the log file ${this.path}: ENOSPC: short write (${written} of ${bytes.length} bytes)`);
    this.lost += countLines(rest);
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
