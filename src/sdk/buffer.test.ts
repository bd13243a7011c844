import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../core/record.js';
import { LogBuffer } from './buffer.js';
import { createLogger } from './logger.js';

function record(seq: number): LogRecord {
  return { stream: 'worker:w1', seq, timestamp: seq * 1000, level: 'INFO', message: `line ${seq}` };
}

describe('LogBuffer', () => {
  const saved = process.env.LOG_BUFFER_SIZE;
  afterEach(() => {
    if (saved === undefined) delete process.env.LOG_BUFFER_SIZE;
    else process.env.LOG_BUFFER_SIZE = saved;
  });

  it('holds 100 records by default', () => {
    delete process.env.LOG_BUFFER_SIZE;
    expect(new LogBuffer().maxSize).toBe(100);
  });

  it('honours LOG_BUFFER_SIZE, and an explicit maxSize over it', () => {
    process.env.LOG_BUFFER_SIZE = '5';
    expect(new LogBuffer().maxSize).toBe(5);
    expect(new LogBuffer({ maxSize: 7 }).maxSize).toBe(7);
  });

  it('refuses a LOG_BUFFER_SIZE or maxSize that is not a positive integer', () => {
    process.env.LOG_BUFFER_SIZE = 'lots';
    expect(() => new LogBuffer()).toThrow(/LOG_BUFFER_SIZE: expected a positive integer, got "lots"/);
    expect(() => new LogBuffer({ maxSize: 0 })).toThrow(RangeError);
  });

  it('flush takes everything, oldest first, and leaves the buffer empty', () => {
    const buffer = new LogBuffer({ maxSize: 10 });
    buffer.add(record(1));
    buffer.add(record(2));
    expect(buffer.flush().map((r) => r.seq)).toEqual([1, 2]);
    expect(buffer.flush()).toEqual([]);
    expect(buffer.stats()).toEqual({ current_buffer_size: 0, total_logs_buffered: 2, total_flushes: 1 });
  });

  it('hands the whole content to onFull when it fills, and counts that flush', () => {
    const batches: number[][] = [];
    const buffer = new LogBuffer({ maxSize: 3, onFull: (records) => batches.push(records.map((r) => r.seq)) });
    for (let seq = 1; seq <= 7; seq++) buffer.add(record(seq));
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(buffer.stats()).toEqual({ current_buffer_size: 1, total_logs_buffered: 7, total_flushes: 2 });
    expect(buffer.dropped).toBe(0);
  });

  it('stays bounded without onFull, dropping the oldest and counting them', () => {
    const buffer = new LogBuffer({ maxSize: 3 });
    for (let seq = 1; seq <= 5; seq++) buffer.add(record(seq));
    expect(buffer.stats().current_buffer_size).toBe(2);
    expect(buffer.dropped).toBe(3);
    expect(buffer.flush().map((r) => r.seq)).toEqual([4, 5]);
  });

  it('never throws from add, even when onFull does', () => {
    const buffer = new LogBuffer({
      maxSize: 2,
      onFull: () => {
        throw new Error('shipper down');
      },
    });
    expect(() => [1, 2, 3].forEach((seq) => buffer.add(record(seq)))).not.toThrow();
    expect(buffer.dropped).toBe(2);
    expect(buffer.stats().current_buffer_size).toBe(1);
  });

  it('takes a logger sink as `buffer.add`, unbound', () => {
    const buffer = new LogBuffer({ maxSize: 10 });
    const logger = createLogger('runlog.worker', { stream: 'worker:w1', console: false, sink: buffer.add });
    logger.info('started');
    logger.child('heartbeat').warning('slow');
    expect(buffer.flush().map((r) => [r.logger, r.level, r.message])).toEqual([
      ['runlog.worker', 'INFO', 'started'],
      ['runlog.worker.heartbeat', 'WARNING', 'slow'],
    ]);
  });
});
