/**
 * Spool: items (records, heartbeats) that wait on disk while the hub is away.
 *
 * Format: one file per spool, `<dir>/<name>.spool`, a JSON item per line (NDJSON), appended in
 * order. Reading advances an offset kept in memory; the file is removed once drained. Bounded:
 * past `maxBytes` the oldest items are dropped (the read offset skips them) and counted in
 * `dropped`, so the sender can say how many were lost. Nothing is fsynced: the spool covers a hub
 * outage, not a machine crash (the OS keeps what a crashed process wrote). A crash in the middle
 * of an append leaves a partial last line, which the reader skips. An append the disk refuses
 * (full: an error or a short write) is cut back off the file and its items counted in `dropped`:
 * a torn line left in the middle would glue itself to the next item, and every read after it
 * would fail (a worker's heartbeats stuck behind it for good). Resending an item the hub already
 * has is harmless: (stream, seq) makes it a no-op.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirectory } from '../../core/make-dir.js';

const READ_CHUNK = 4 * 1024 * 1024; // 4 MiB read at a time

export class Spool<T = unknown> {
  readonly file: string;
  /** items dropped to keep the spool under its bound */
  dropped = 0;
  private fd: number | undefined;
  private readOffset = 0;
  private writeOffset = 0;
  private count = 0;

  constructor(
    dir: string,
    name: string,
    private readonly maxBytes = Infinity,
    /** what a dropped item counts for in `dropped` (a heartbeat: its lines) */
    private readonly weigh: (item: T) => number = () => 1,
  ) {
    makeDirectory(dir);
    this.file = join(dir, `${name}.spool`);
    if (existsSync(this.file)) this.resume();
  }

  /** A spool left by an earlier process (stopped while the hub was away) is sent too. */
  private resume(): void {
    const text = readFileSync(this.file);
    const complete = text.lastIndexOf(0x0a) + 1; // a partial last line is a crash's leftover
    let count = 0;
    for (let at = text.indexOf(0x0a); at !== -1 && at < complete; at = text.indexOf(0x0a, at + 1)) count++;
    if (count === 0) return rmSync(this.file, { force: true });
    this.fd = openSync(this.file, 'r+');
    this.writeOffset = complete;
    this.count = count;
  }

  /** items waiting in the spool */
  get size(): number {
    return this.count;
  }

  /** bytes waiting in the spool */
  get bytes(): number {
    return this.writeOffset - this.readOffset;
  }

  /** Never throws: items the disk has no room for are dropped and counted in `dropped`. */
  append(items: readonly T[]): void {
    if (items.length === 0) return;
    let text = '';
    for (const item of items) text += `${JSON.stringify(item)}\n`;
    const bytes = Buffer.from(text);
    try {
      if (this.fd === undefined) {
        this.fd = openSync(this.file, 'w+', 0o600); // a worker's lines: its owner's only
        this.readOffset = this.writeOffset = 0;
      }
      const written = writeSync(this.fd, bytes, 0, bytes.length, this.writeOffset);
      if (written !== bytes.length) throw new Error(`ENOSPC: short write (${written} of ${bytes.length} bytes)`);
    } catch {
      this.cutBack();
      for (const item of items) this.dropped += this.weigh(item);
      return;
    }
    this.writeOffset += bytes.length;
    this.count += items.length;
    while (this.bytes > this.maxBytes && this.count > 1) this.dropOldest();
  }

  /** The oldest items, at most `max`, without removing them: commit() does, once they are delivered. */
  peek(max: number): { items: T[]; next: number } {
    if (this.fd === undefined || this.count === 0) return { items: [], next: this.readOffset };
    const buffer = Buffer.alloc(Math.min(READ_CHUNK, this.bytes));
    const read = readSync(this.fd, buffer, 0, buffer.length, this.readOffset);
    const items: T[] = [];
    let start = 0;
    while (items.length < max) {
      const end = buffer.indexOf(0x0a, start);
      if (end === -1 || end >= read) break;
      items.push(JSON.parse(buffer.toString('utf8', start, end)) as T);
      start = end + 1;
    }
    return { items, next: this.readOffset + start };
  }

  /** Removes the `delivered` items that peek() returned; `next` is the offset it gave. */
  commit(next: number, delivered: number): void {
    // items dropped meanwhile moved the offset past these already
    if (next > this.readOffset) {
      this.readOffset = next;
      this.count -= delivered;
    }
    if (this.count <= 0) this.clear();
  }

  /** Everything still waiting, in order. */
  drain(): T[] {
    let all: T[] = [];
    while (this.count > 0) {
      const { items, next } = this.peek(10_000);
      if (items.length === 0) break;
      all = all.concat(items);
      this.commit(next, items.length);
    }
    this.clear();
    return all;
  }

  clear(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.count = 0;
    this.readOffset = this.writeOffset = 0;
    rmSync(this.file, { force: true });
  }

  /** What a failed append left past the last whole item goes (on a full disk, shrinking cannot fail). */
  private cutBack(): void {
    if (this.fd === undefined) return;
    try {
      ftruncateSync(this.fd, this.writeOffset);
    } catch {
      // the file is gone or unwritable: resume() skips a partial last line of a later process
    }
  }

  private dropOldest(): void {
    const { items, next } = this.peek(1);
    if (items.length === 0) return;
    this.readOffset = next;
    this.count--;
    this.dropped += this.weigh(items[0] as T);
  }
}
