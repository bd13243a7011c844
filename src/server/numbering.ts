/**
 * StreamNumbering: lines the hub numbers itself (OTLP, plain text, NDJSON without seq). The next
 * seq of a stream is its last stored seq + 1, read and written under a per-stream lock: a queue in
 * this process, then the store's lock across the hubs sharing its database (`lockStream`), so two
 * requests for one stream, through one hub or two, never take the same numbers (the store would
 * keep one line of each pair and answer 200 for both). A stream written at the same time by a
 * sender numbering its own lines is not covered: hub-numbered and sender-numbered lines are not
 * meant to share a run.
 */
import { RunlogError } from '../core/errors.js';
import type { LogRecord } from '../core/record.js';
import type { Store } from '../store/store.js';

/**
 * Refuses lines numbered past the largest seq (2^53 − 1, where a sender may put its own lines):
 * the store cannot keep them, and a 200 would lose them.
 */
export function assertNumbered(stream: string, records: readonly LogRecord[]): void {
  if (records.some((record) => !Number.isSafeInteger(record.seq))) {
    throw new RunlogError(409, 'CONFLICT', `run ${stream} has no seq left after ${Number.MAX_SAFE_INTEGER}: the lines after it cannot be numbered`);
  }
}

export class StreamNumbering {
  /** the tail of each stream's queue of writers; removed when the last one is done */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly store: Store) {}

  /** Runs `write` alone for this stream, handing it the last seq stored. */
  async exclusive<T>(stream: string, write: (lastSeq: number) => Promise<T>): Promise<T> {
    const before = this.queues.get(stream) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.queues.set(stream, tail);
    let unlock: (() => Promise<void>) | undefined;
    try {
      await before;
      unlock = await this.store.lockStream?.(stream);
      return await write(await this.lastSeq(stream));
    } finally {
      await unlock?.();
      release();
      if (this.queues.get(stream) === tail) this.queues.delete(stream);
    }
  }

  async lastSeq(stream: string): Promise<number> {
    const page = await this.store.queryLogs(stream, { tail: 1 });
    return page.records[page.records.length - 1]?.seq ?? 0;
  }
}
