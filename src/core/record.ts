/**
 * The log record and its identity. `(stream, seq)` names a line everywhere: the store ignores a
 * record it already has, SSE sends `seq` as the event id, queries page by it.
 */

export const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type Level = (typeof LEVELS)[number];

/** Numeric rank of each level, so that "WARNING and above" is a comparison. */
export const LEVEL_RANK: Readonly<Record<Level, number>> = {
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  ERROR: 40,
  CRITICAL: 50,
};

export type Source = 'stdout' | 'stderr' | 'system' | 'file' | 'sdk';
export type Phase = 'setup' | 'run' | 'diagnostics';

export interface RecordAttrs {
  /** seq of the first line of the block (a Python traceback) this line belongs to */
  group?: number;
  /** the line was longer than the limit and was cut there */
  truncated?: boolean;
  /** the line is the last state of a progress bar (a segment ended by a lone \r) */
  progress?: boolean;
  [key: string]: unknown;
}

export interface LogRecord {
  stream: string;
  seq: number;
  /** capture time, microseconds since the epoch */
  timestamp: number;
  level: Level;
  message: string;
  source?: Source;
  phase?: Phase;
  logger?: string;
  task_id?: string;
  attrs?: RecordAttrs;
}

/** A progress update: shown live in place of the previous one, never stored. */
export interface ProgressUpdate {
  stream: string;
  timestamp: number;
  level: Level;
  message: string;
  source?: Source;
  phase?: Phase;
}

export function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && (LEVELS as readonly string[]).includes(value);
}

/** Accepts level names in any case and the common aliases (warn, err, fatal). */
export function parseLevel(value: string): Level | undefined {
  const upper = value.trim().toUpperCase();
  if (isLevel(upper)) return upper;
  // a levelno written as text ("40": what the seed's function stores when given a number)
  if (/^\d{1,3}$/.test(upper)) return levelFromNumber(Number(upper));
  return LEVEL_ALIASES[upper];
}

export const LEVEL_ALIASES: Readonly<Record<string, Level>> = {
  TRACE: 'DEBUG',
  WARN: 'WARNING',
  ERR: 'ERROR',
  FATAL: 'CRITICAL',
  CRIT: 'CRITICAL',
  // the seed's logger's own (essential) and loguru's (success), between INFO and WARNING
  ESSENTIAL: 'INFO',
  SUCCESS: 'INFO',
  NOTICE: 'INFO',
};

/**
 * A numeric level as Python's `levelno` gives it (10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR,
 * 50 CRITICAL); a number in between rounds down (25 is INFO), below 10 is DEBUG (loguru's TRACE
 * is 5), above 50 CRITICAL. Undefined for a negative or non-finite number.
 */
export function levelFromNumber(value: number): Level | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (value >= 50) return 'CRITICAL';
  if (value >= 40) return 'ERROR';
  if (value >= 30) return 'WARNING';
  if (value >= 20) return 'INFO';
  return 'DEBUG';
}

/** Ids reach file paths and URLs: nothing outside this pattern is accepted anywhere. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

/** `worker:` names the streams of workers' own lines: no run may take it. */
export function isValidRunId(id: unknown): id is string {
  return isValidId(id) && !id.startsWith('worker:');
}

/** Microseconds since the epoch, now. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** The ISO text of the last millisecond formatted: lines of one read share it, and toISOString is costly. */
let cachedMs = -1;
let cachedIso = '';

export function microsToIso(micros: number): string {
  const ms = Math.floor(micros / 1000);
  if (ms !== cachedMs) {
    cachedMs = ms;
    cachedIso = new Date(ms).toISOString().slice(0, 23); // 2026-01-02T03:04:05.678
  }
  const extra = micros - ms * 1000;
  return `${cachedIso}${extra < 10 ? '00' : extra < 100 ? '0' : ''}${extra}Z`;
}

/** A record as the API and SSE send it: ISO timestamp, the optional fields only when set. */
export interface WireRecord {
  seq: number;
  timestamp: string;
  level: Level;
  message: string;
  stream: string;
  source?: Source;
  phase?: Phase;
  logger?: string;
  task_id?: string;
  attrs?: RecordAttrs;
}

export function toWire(record: LogRecord): WireRecord {
  return {
    seq: record.seq,
    timestamp: microsToIso(record.timestamp),
    level: record.level,
    message: record.message,
    stream: record.stream,
    source: record.source,
    phase: record.phase,
    logger: record.logger,
    task_id: record.task_id,
    attrs: record.attrs,
  };
}
