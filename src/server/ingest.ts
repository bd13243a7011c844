/**
 * A batch of records as a sender posts it → LogRecords, checked field by field. A bad field is a
 * 400 naming it (`records[3].timestamp`); a message over the line limit is cut and flagged, never
 * refused, so nothing a job printed is lost to a limit.
 *
 * What a record may say, beyond the wire shape of toWire(): `level` as a name or a number
 * (Python's levelno, see levelFromNumber); `timestamp` as an ISO string or an epoch number in
 * seconds, ms or µs (see epochToMicros); `metadata`, an object kept as `attrs.metadata` (the seeds'
 * system_logs column: the API gives it back as `metadata`, see systemLogFromRecord). A heartbeat's
 * lines may leave out `seq`: the hub numbers worker lines (server/worker-lines.ts).
 */
import { badRequest } from '../core/errors.js';
import { levelFromNumber, parseLevel, type LogRecord, type ProgressUpdate, type RecordAttrs } from '../core/record.js';
import { epochToMicros, parseIsoMicros } from '../core/time.js';
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

export interface BatchOptions {
  /** the name of the records' array in the body (`records`; a heartbeat's `logs`) */
  field?: string;
  /** false: a record may leave out `seq`, and gets seq 0 (a heartbeat's: the hub numbers them) */
  seqRequired?: boolean;
}

export function parseBatch(stream: string, body: unknown, maxLineBytes: number, options: BatchOptions = {}): IngestBatch {
  const field = options.field ?? 'records';
  const seqRequired = options.seqRequired ?? true;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body', 'expected a JSON object');
  const { progress } = body as { progress?: unknown };
  const records = (body as Record<string, unknown>)[field];
  if (!Array.isArray(records)) throw badRequest(field, 'expected an array');
  if (records.length > MAX_BATCH) throw badRequest(field, `at most ${MAX_BATCH} per request, got ${records.length}`);
  const parsed = records.map((item, index) => parseRecord(stream, item, `${field}[${index}]`, maxLineBytes, seqRequired));
  const updates = progress === undefined ? [] : parseProgress(stream, progress, maxLineBytes);
  return { records: parsed, progress: updates };
}

function parseRecord(stream: string, item: unknown, at: string, maxLineBytes: number, seqRequired: boolean): LogRecord {
  if (typeof item !== 'object' || item === null) throw badRequest(at, 'expected an object');
  const raw = item as Record<string, unknown>;
  const seqGiven = raw.seq !== undefined && raw.seq !== null;
  if ((seqGiven || seqRequired) && (!Number.isSafeInteger(raw.seq) || (raw.seq as number) < 1)) {
    throw badRequest(`${at}.seq`, 'expected an integer ≥ 1');
  }
  const record: LogRecord = {
    stream,
    seq: seqGiven ? (raw.seq as number) : 0,
    timestamp: timestampField(raw.timestamp, `${at}.timestamp`),
    level: levelField(raw.level, `${at}.level`),
    message: '',
  };
  if (typeof raw.message !== 'string') throw badRequest(`${at}.message`, 'expected a string');
  const cut = cutToBytes(raw.message, maxLineBytes);
  record.message = cut.text;
  // null is no value, for every optional field alike (Python's None; seq, task_id and metadata took it, logger was a 400)
  if (raw.source !== undefined && raw.source !== null) record.source = enumField(raw.source, SOURCES, `${at}.source`) as LogRecord['source'];
  if (raw.phase !== undefined && raw.phase !== null) record.phase = enumField(raw.phase, PHASES, `${at}.phase`) as LogRecord['phase'];
  if (raw.logger !== undefined && raw.logger !== null) record.logger = textField(raw.logger, `${at}.logger`, LIMITS.loggerBytes);
  if (raw.task_id !== undefined && raw.task_id !== null) record.task_id = textField(raw.task_id, `${at}.task_id`, LIMITS.idChars);
  if (raw.attrs !== undefined && raw.attrs !== null) record.attrs = boundedObject(raw.attrs, `${at}.attrs`) as RecordAttrs;
  if (raw.metadata !== undefined && raw.metadata !== null) {
    const metadata = boundedObject(raw.metadata, `${at}.metadata`);
    if (Object.keys(metadata).length > 0) record.attrs = { ...record.attrs, metadata };
  }
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

/**
 * An epoch number (seconds, ms or µs: see epochToMicros) or an ISO timestamp → µs since the epoch:
 * a real date and time from 1970 to 9999 (LIMITS.timestampMicros; a number must come to a safe integer of µs).
 */
export function timestampField(value: unknown, at: string): number {
  const { min, max } = LIMITS.timestampMicros;
  if (typeof value === 'number') {
    const micros = epochToMicros(value);
    if (micros !== undefined && Number.isSafeInteger(micros) && micros >= min && micros <= max) return micros;
  } else if (typeof value === 'string') {
    const micros = parseIsoMicros(value); // within 1970–9999, or undefined
    if (micros !== undefined) return micros;
  }
  throw badRequest(at, 'expected an epoch time (seconds, ms or µs) or an ISO timestamp, a real date from 1970 to 9999');
}

function levelField(value: unknown, at: string) {
  const level = typeof value === 'string' ? parseLevel(value) : typeof value === 'number' ? levelFromNumber(value) : undefined;
  if (level === undefined) throw badRequest(at, 'expected DEBUG, INFO, WARNING, ERROR or CRITICAL, or a number (10 DEBUG … 50 CRITICAL)');
  return level;
}

function enumField(value: unknown, allowed: Set<string>, at: string): string {
  if (typeof value !== 'string' || !allowed.has(value)) throw badRequest(at, `expected one of ${[...allowed].join(', ')}`);
  return value;
}
