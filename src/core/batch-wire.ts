/**
 * The body of `POST /api/runs/:id/logs` as runlog's own clients write it: `{"records":[\n`, the
 * records' JSON joined by `,\n`, then `\n]` and the rest of the object (`}`, or
 * `,"progress":[…]}`). It is plain JSON (any parser reads it, any client may send it); the
 * hub reads it a group of records at a time instead of as one big string (src/server/batch-body.ts
 * says why), which `,\n` makes safe: JSON text never holds a raw newline inside a string.
 */
export const BATCH_HEAD = '{"records":[\n';
export const BATCH_SEPARATOR = ',\n';
export const BATCH_END = '\n]';

const HEAD = Buffer.from(BATCH_HEAD);
const SEPARATOR = Buffer.from(BATCH_SEPARATOR);

/**
 * Writes batch bodies into one buffer that the next body reuses: a fresh buffer (or string) of up
 * to 2 MiB per batch would be fresh pages every time, which is what a batch cost most on a VM
 * where page faults are dear. One body at a time: the one returned is valid until the next.
 */
export class BatchBodyWriter {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private length = 0;

  /** The body for these records (each one's JSON, as a string or as its UTF-8 bytes) and progress updates. */
  write(records: readonly (string | Uint8Array)[], progress: readonly unknown[] = []): Buffer {
    this.length = 0;
    this.bytes(HEAD);
    for (let i = 0; i < records.length; i++) {
      if (i > 0) this.bytes(SEPARATOR);
      const record = records[i]!;
      if (typeof record === 'string') this.text(record);
      else this.bytes(record);
    }
    this.text(`${BATCH_END}${progress.length > 0 ? `,"progress":${JSON.stringify(progress)}` : ''}}`);
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  private bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  private text(value: string): void {
    this.reserve(value.length * 3);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }
}
