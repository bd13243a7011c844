/**
 * LogBuffer: the records a worker logged since its last heartbeat (seeds/worker-heartbeat-logging.md).
 * Bounded: when it holds `maxSize` records it hands them all to `onFull` (the shipper, which
 * sends them at once instead of waiting for the heartbeat) and starts empty again.
 *
 * The seed's Python buffer takes a lock on every call because its heartbeat runs on another
 * thread. Here there is one JavaScript thread: `add`, `flush` and `onFull` each run to completion
 * before anything else can touch the array, so there is nothing to lock.
 */
import type { LogRecord } from '../core/record.js';

export const DEFAULT_BUFFER_SIZE = 100; // entries, as in the seed
export const BUFFER_SIZE_ENV = 'LOG_BUFFER_SIZE'; // the seed's variable, honoured as it is

export interface LogBufferOptions {
  /** records held before an automatic flush; default: env LOG_BUFFER_SIZE, else 100 */
  maxSize?: number;
  /** receives the records of an automatic flush; see LogBuffer.onFull */
  onFull?: (records: LogRecord[]) => void;
}

/** The seed's stats, with its field names (they are logged and sent as they are). */
export interface LogBufferStats {
  current_buffer_size: number;
  total_logs_buffered: number;
  total_flushes: number;
}

export class LogBuffer {
  readonly maxSize: number;
  /**
   * Called with the whole content when the buffer fills, inside the `add` that filled it. The
   * shipper sets it. Unset, a full buffer drops its oldest record for each new one (counted in
   * `dropped`): the buffer stays bounded either way.
   */
  onFull: ((records: LogRecord[]) => void) | undefined;
  private records: LogRecord[] = [];
  private totalBuffered = 0;
  private totalFlushes = 0;
  private droppedCount = 0;

  constructor(options: LogBufferOptions = {}) {
    this.maxSize = options.maxSize ?? sizeFromEnv();
    if (!Number.isInteger(this.maxSize) || this.maxSize < 1) {
      throw new RangeError(`LogBuffer maxSize: expected a positive integer, got ${this.maxSize}`);
    }
    this.onFull = options.onFull;
  }

  /**
   * Adds a record; never throws (it runs inside every logging call). Bound to the buffer, so
   * `createLogger(name, { sink: buffer.add })` works.
   */
  readonly add = (record: LogRecord): void => {
    const records = this.records;
    records.push(record);
    this.totalBuffered++;
    if (records.length < this.maxSize) return;
    const onFull = this.onFull;
    if (onFull === undefined) {
      records.shift();
      this.droppedCount++;
      return;
    }
    const batch = this.flush();
    try {
      onFull(batch);
    } catch {
      this.droppedCount += batch.length; // the shipper refused the batch: those records are gone, say so
    }
  };

  /** Takes everything buffered (oldest first) and leaves the buffer empty. */
  flush(): LogRecord[] {
    const records = this.records;
    if (records.length === 0) return [];
    this.records = [];
    this.totalFlushes++; // a flush that hands over nothing is not counted
    return records;
  }

  stats(): LogBufferStats {
    return {
      current_buffer_size: this.records.length,
      total_logs_buffered: this.totalBuffered,
      total_flushes: this.totalFlushes,
    };
  }

  /** Records lost: pushed out of a full buffer with no `onFull`, or refused by a throwing `onFull`. */
  get dropped(): number {
    return this.droppedCount;
  }
}

function sizeFromEnv(): number {
  const text = process.env[BUFFER_SIZE_ENV];
  if (text === undefined || text.trim() === '') return DEFAULT_BUFFER_SIZE;
  const size = Number(text);
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`${BUFFER_SIZE_ENV}: expected a positive integer, got "${text}"`);
  }
  return size;
}
