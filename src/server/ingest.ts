/**
 * A batch of records as a sender posts it → LogRecords, checked field by field. A bad field is a
 * 400 naming it (`records[3].timestamp`); a message over the line limit is cut and flagged, never
 * refused, so nothing a job printed is lost to a limit.
 */
import { badRequest } from '../core/errors.js';
import { parseLevel, type LogRecord, type ProgressUpdate, type RecordAttrs } from '../core/record.js';
import { parseIsoMicros } from '../core/time.js';
import { cutToBytes } from '../core/text.js';
import { LIMITS } from '../core/limits.js';
import { boundedObject, textField } from './fields.js';

const SOURCES = new Set(['stdout', 'stderr', 'system', 'file', 'sdk']);
const PHASES = new Set(['setup', 'run', 'diagnostics']);
export const MAX_BATCH = LIMITS.batchRecords;

export interface IngestBatch {
  records: LogRecord[];
  progress: ProgressUpdate[];
}

/** `field`: the name of the records' array in the body (`records`; a heartbeat's `logs`). */
export function parseBatch(stream: string, body: unknown, maxLineBytes: number, field = 'records'): IngestBatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body', 'expected a JSON object');
  const { progress } = body as { progress?: unknown };
  const records = (body as Record<string, unknown>)[field];
  if (!Array.isArray(records)) throw badRequest(field, 'expected an array');
  if (records.length > MAX_BATCH) throw badRequest(field, `at most ${MAX_BATCH} per request, got ${records.length}`);
  const parsed = records.map((item, index) => parseRecord(stream, item, `${field}[${index}]`, maxLineBytes));
  const updates = progress === undefined ? [] : parseProgress(stream, progress, maxLineBytes);
  return { records: parsed, progress: updates };
}

function parseRecord(stream: string, item: unknown, at: string, maxLineBytes: number): LogRecord {
  if (typeof item !== 'object' || item === null) throw badRequest(at, 'expected an object');
  const raw = item as Record<string, unknown>;
  if (!Number.isSafeInteger(raw.seq) || (raw.seq as number) < 1) throw badRequest(`${at}.seq`, 'expected an integer ≥ 1');
  const record: LogRecord = {
    stream,
    seq: raw.seq as number,
    timestamp: timestampField(raw.timestamp, `${at}.timestamp`),
    level: levelField(raw.level, `${at}.level`),
    message: '',
  };
  if (typeof raw.message !== 'string') throw badRequest(`${at}.message`, 'expected a string');
  const cut = cutToBytes(raw.message, maxLineBytes);
  record.message = cut.text;
  if (raw.source !== undefined) record.source = enumField(raw.source, SOURCES, `${at}.source`) as LogRecord['source'];
  if (raw.phase !== undefined) record.phase = enumField(raw.phase, PHASES, `${at}.phase`) as LogRecord['phase'];
  if (raw.logger !== undefined) record.logger = textField(raw.logger, `${at}.logger`, LIMITS.loggerBytes);
  if (raw.task_id !== undefined && raw.task_id !== null) record.task_id = textField(raw.task_id, `${at}.task_id`, LIMITS.idChars);
  if (raw.attrs !== undefined && raw.attrs !== null) record.attrs = boundedObject(raw.attrs, `${at}.attrs`) as RecordAttrs;
  if (cut.truncated) record.attrs = { ...record.attrs, truncated: true };
  return record;
}

function parseProgress(stream: string, progress: unknown, maxLineBytes: number): ProgressUpdate[] {
  if (!Array.isArray(progress)) throw badRequest('progress', 'expected an array');
  if (progress.length > MAX_BATCH) throw badRequest('progress', `at most ${MAX_BATCH} per request`);
  return progress.map((item, index) => {
    const at = `progress[${index}]`;
    if (typeof item !== 'object' || item === null) throw badRequest(at, 'expected an object');
    const raw = item as Record<string, unknown>;
    if (typeof raw.message !== 'string') throw badRequest(`${at}.message`, 'expected a string');
    const update: ProgressUpdate = {
      stream,
      timestamp: timestampField(raw.timestamp, `${at}.timestamp`),
      level: levelField(raw.level ?? 'INFO', `${at}.level`),
      message: cutToBytes(raw.message, maxLineBytes).text,
    };
    if (raw.source !== undefined) update.source = enumField(raw.source, SOURCES, `${at}.source`) as ProgressUpdate['source'];
    if (raw.phase !== undefined) update.phase = enumField(raw.phase, PHASES, `${at}.phase`) as ProgressUpdate['phase'];
    return update;
  });
}

/** µs since the epoch (an integer), or an ISO timestamp: a real date and time, 1970–9999. */
export function timestampField(value: unknown, at: string): number {
  const { min, max } = LIMITS.timestampMicros;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  if (typeof value === 'string') {
    const micros = parseIsoMicros(value);
    if (micros !== undefined) return micros;
  }
  throw badRequest(at, 'expected µs since the epoch or an ISO timestamp, a real date from 1970 to 9999');
}

function levelField(value: unknown, at: string) {
  const level = typeof value === 'string' ? parseLevel(value) : undefined;
  if (level === undefined) throw badRequest(at, 'expected DEBUG, INFO, WARNING, ERROR or CRITICAL');
  return level;
}

function enumField(value: unknown, allowed: Set<string>, at: string): string {
  if (typeof value !== 'string' || !allowed.has(value)) throw badRequest(at, `expected one of ${[...allowed].join(', ')}`);
  return value;
}
