import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../core/record.js';
import { formatDebug, formatProduction, formatTimestamp, productionLine } from './format.js';

const AT = Date.UTC(2026, 0, 2, 3, 4, 5, 678) * 1000 + 901; // µs

function record(fields: Partial<LogRecord> = {}): LogRecord {
  return { stream: 's', seq: 1, timestamp: AT, level: 'INFO', message: 'hello', ...fields };
}

describe('formatTimestamp', () => {
  it('writes UTC with milliseconds and a space for the T', () => {
    expect(formatTimestamp(AT)).toBe('2026-01-02 03:04:05.678');
  });

  it('pads milliseconds and stays right as the cached second and millisecond change', () => {
    const second = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000;
    expect(formatTimestamp(second + 5_000)).toBe('2026-01-02 03:04:05.005');
    expect(formatTimestamp(second + 50_999)).toBe('2026-01-02 03:04:05.050');
    expect(formatTimestamp(second + 1_000_000)).toBe('2026-01-02 03:04:06.000');
    expect(formatTimestamp(second + 5_000)).toBe('2026-01-02 03:04:05.005');
  });
});

describe('line formats', () => {
  it('production: timestamp | level padded to 8 | message', () => {
    expect(formatProduction(record())).toBe('2026-01-02 03:04:05.678 | INFO     | hello');
    expect(formatProduction(record({ level: 'CRITICAL' }))).toBe('2026-01-02 03:04:05.678 | CRITICAL | hello');
    expect(formatProduction(record({ level: 'WARNING' }))).toBe('2026-01-02 03:04:05.678 | WARNING  | hello');
  });

  it('debug: timestamp | level | name | file:line | message', () => {
    expect(formatDebug(record({ level: 'DEBUG' }), 'runlog.worker', 'worker.ts:42')).toBe(
      '2026-01-02 03:04:05.678 | DEBUG    | runlog.worker | worker.ts:42 | hello',
    );
  });

  it('productionLine is the production format without ANSI codes and without a newline', () => {
    expect(productionLine(record({ level: 'ERROR', message: '\x1b[31mfailed\x1b[0m' }))).toBe(
      '2026-01-02 03:04:05.678 | ERROR    | failed',
    );
  });
});
