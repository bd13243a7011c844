/**
 * Spool: records that wait on disk while the hub is away.
 *
 * Format: one file per stream, `<dir>/<stream>.spool`, a JSON record per line (NDJSON), appended
 * in seq order. Reading advances an offset kept in memory; the file is removed once drained.
 * Nothing is fsynced: the spool covers a hub outage, not a machine crash (the OS keeps what a
 * crashed process wrote). A crash in the middle of an append leaves a partial last line, which
 * the reader skips. Reading back a record the hub already has is harmless: (stream, seq) makes
 * the resend a no-op.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord } from '../../core/record.js';

const READ_CHUNK = 4 * 1024 * 1024; // 4 MiB read at a time

export class Spool {
  readonly file: string;
  private fd: number | undefined;
  private readOffset = 0;
  private writeOffset = 0;
  private count = 0;

  constructor(dir: string, stream: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${stream}.spool`);
  }

  /** records waiting in the spool */
  get size(): number {
    return this.count;
  }

  append(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    if (this.fd === undefined) {
      this.fd = openSync(this.file, 'w+');
      this.readOffset = this.writeOffset = 0;
    }
    let text = '';
    for (const record of records) text += `${JSON.stringify(record)}\n`;
    this.writeOffset += writeSync(this.fd, text, this.writeOffset);
    this.count += records.length;
  }

  /** The oldest records, at most `max`, without removing them: commit() does, once they are delivered. */
  peek(max: number): { records: LogRecord[]; next: number } {
    if (this.fd === undefined || this.count === 0) return { records: [], next: this.readOffset };
    const buffer = Buffer.alloc(Math.min(READ_CHUNK, this.writeOffset - this.readOffset));
    const read = readSync(this.fd, buffer, 0, buffer.length, this.readOffset);
    const records: LogRecord[] = [];
    let start = 0;
    while (records.length < max) {
      const end = buffer.indexOf(0x0a, start);
      if (end === -1 || end >= read) break;
      records.push(JSON.parse(buffer.toString('utf8', start, end)) as LogRecord);
      start = end + 1;
    }
    return { records, next: this.readOffset + start };
  }

  commit(next: number, delivered: number): void {
    this.readOffset = next;
    this.count -= delivered;
    if (this.count <= 0) this.clear();
  }

  /** Everything still waiting, in order (to hand over to the local store). */
  drain(): LogRecord[] {
    let all: LogRecord[] = [];
    while (this.count > 0) {
      const { records, next } = this.peek(10_000);
      if (records.length === 0) break;
      all = all.concat(records);
      this.commit(next, records.length);
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
}
