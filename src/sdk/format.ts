/**
 * The two line formats of the seeds (seeds/log-streamer-remote-execution.md):
 *
 *   production  2026-01-02 03:04:05.678 | INFO     | message
 *   debug       2026-01-02 03:04:05.678 | INFO     | runlog.worker | worker.ts:42 | message
 *
 * The level is padded to 8 like Python's `%(levelname)-8s`. The timestamp is UTC, not local time
 * as the seeds' `asctime` is: lines from workers in different time zones land side by side in one
 * FunctionResponse and one store, and must read in the same clock. Milliseconds are written with a
 * dot (`asctime` uses a comma) so the text is the ISO timestamp with a space for the `T`.
 *
 * No function here adds the newline: the logger adds it for the console, the hub joins lines.
 */
import { plain } from '../core/format.js';
import type { Level, LogRecord } from '../core/record.js';

/** The level column with its separators, ` | INFO     | `: built once, reused by every line. */
export const LEVEL_FIELD: Readonly<Record<Level, string>> = {
  DEBUG: ' | DEBUG    | ',
  INFO: ' | INFO     | ',
  WARNING: ' | WARNING  | ',
  ERROR: ' | ERROR    | ',
  CRITICAL: ' | CRITICAL | ',
};

export type FormattedFields = Pick<LogRecord, 'timestamp' | 'level' | 'message'>;

/** `timestamp | level | message` */
export function formatProduction(record: FormattedFields): string {
  return `${formatTimestamp(record.timestamp)}${LEVEL_FIELD[record.level]}${record.message}`;
}

/** `timestamp | level | name | file:line | message`; `callsite` is the caller's `file:line`. */
export function formatDebug(record: FormattedFields, name: string, callsite: string): string {
  return `${formatTimestamp(record.timestamp)}${LEVEL_FIELD[record.level]}${name} | ${callsite} | ${record.message}`;
}

/**
 * One line of a FunctionResponse's `stdout`: the production format, without ANSI codes (a
 * plain-text output, DESIGN.md "Lines") and without a newline.
 */
export function productionLine(record: LogRecord): string {
  return formatProduction({ timestamp: record.timestamp, level: record.level, message: plain(record.message) });
}

// The text of the last second and the last millisecond formatted: a busy logger writes many
// lines per millisecond, and toISOString costs more than the rest of a line.
let cachedSecond = Number.NaN;
let secondText = '';
let cachedMs = Number.NaN;
let msText = '';

/** µs since the epoch → `2026-01-02 03:04:05.678` (UTC). */
export function formatTimestamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  if (ms !== cachedMs) {
    const second = Math.floor(ms / 1000);
    if (second !== cachedSecond) {
      cachedSecond = second;
      const iso = new Date(second * 1000).toISOString(); // 2026-01-02T03:04:05.000Z
      secondText = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    }
    const milli = ms - second * 1000;
    cachedMs = ms;
    msText = `${secondText}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}`;
  }
  return msText;
}
