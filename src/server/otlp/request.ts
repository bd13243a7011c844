/**
 * An OTLP ExportLogsServiceRequest, in the JSON mapping's shape (from JSON, or from protobuf via
 * proto.ts) → runlog records grouped by the stream they go to.
 *
 * The stream: the resource attribute `runlog.run_id` names a run (a string, or an int as its
 * decimal text; another type rejects that resource's records, as a partial success); without it the lines go to the service's own stream, the
 * run `svc-<service.name>` (see serviceRunId). Severity → level, body → message (a structured
 * body as JSON), attributes → attrs (bounded), trace and span ids kept in attrs, the record's time
 * (else its observed time, else now) → timestamp. The hub numbers the lines when it stores them,
 * so a record here has no seq yet.
 *
 * A malformed document (not the request's shape) is a 400; a record the hub cannot take (a time
 * outside 1970–9999, a body that is not an AnyValue, attributes that are not a list) is counted
 * in `rejected` with a reason, as OTLP's partial success says. What the hub keeps but had to
 * leave out (a trace or span id of the wrong length, a severity number outside 1–24) is said in
 * the partial success's error message with nothing rejected, which OTLP allows as a warning.
 */
import { createHash } from 'node:crypto';
import { badRequest } from '../../core/errors.js';
import { isValidRunId, nowMicros, parseLevel, type Level, type LogRecord, type RecordAttrs } from '../../core/record.js';
import { cutToBytes } from '../../core/text.js';
import { LIMITS } from '../../core/limits.js';

export const MAX_ATTR_DEPTH = 8;
export const MAX_ATTRS_BYTES = 16 * 1024; // 16 KiB of attrs per line, as JSON
/** attrs keys the UI gives a meaning to: an OTel attribute of that name is kept under `otel.<key>` */
const RESERVED_ATTRS = new Set(['group', 'truncated', 'progress', 'trace_id', 'span_id', 'event_name', 'attrs_dropped']);

export interface StreamTarget {
  /** the run that takes the lines */
  runId: string;
  /** the run's name when the hub creates it: the service's name */
  name: string | null;
  service: string | null;
  /** a service's own stream (no runlog.run_id) */
  isService: boolean;
}

export interface OtlpGroup {
  target: StreamTarget;
  /** seq is 0 until the hub numbers them */
  records: LogRecord[];
}

export interface OtlpBatch {
  groups: OtlpGroup[];
  rejected: number;
  /** why records were rejected, then what was left out of kept ones (at most MAX_REASONS) */
  errors: string[];
}

const MAX_REASONS = 10;

type Ids = 'hex' | 'base64';

/**
 * `svc-` and the service name with every character a run id may not hold turned into `-`. A name
 * that keeps no letter or digit that way (日本語, only symbols) or is longer than 110 characters
 * gets 8 hex digits of its hash too, so that two such services do not share a stream.
 */
export function serviceRunId(service: string): string {
  const cleaned = service.replace(/[^A-Za-z0-9._-]/g, '-');
  if (cleaned === '') return 'svc-unknown_service';
  if (/[A-Za-z0-9]/.test(cleaned) && cleaned.length <= 110) return `svc-${cleaned}`;
  return `svc-${cleaned.slice(0, 110)}-${createHash('sha256').update(service).digest('hex').slice(0, 8)}`;
}

export function readExportRequest(body: unknown, ids: Ids, maxLineBytes: number): OtlpBatch {
  const request = objectAt(body, 'body');
  const resourceLogs = arrayAt(request.resourceLogs, 'resourceLogs');
  const byRun = new Map<string, OtlpGroup>();
  const batch: OtlpBatch = { groups: [], rejected: 0, errors: [] };
  resourceLogs.forEach((item, r) => {
    const at = `resourceLogs[${r}]`;
    const resourceLog = objectAt(item, at);
    const resource = resourceLog.resource === undefined || resourceLog.resource === null ? {} : objectAt(resourceLog.resource, `${at}.resource`);
    const resourceAttrs = keyValues(resource.attributes, `${at}.resource.attributes`);
    const scopeLogs = arrayAt(resourceLog.scopeLogs, `${at}.scopeLogs`);
    const runId = runIdOf(resource.attributes, `${at}.resource.attributes`);
    const target = typeof runId === 'object' ? runId.rejected : targetOf(resourceAttrs, runId, `${at}.resource.attributes`, (warning) => warn(batch, warning));
    if (typeof target === 'string') {
      const count = scopeLogs.reduce<number>((sum, scopeLog) => sum + countRecords(scopeLog), 0);
      reject(batch, count, target);
      return;
    }
    let group = byRun.get(target.runId);
    if (!group) byRun.set(target.runId, (group = { target, records: [] }));
    scopeLogs.forEach((scopeItem, s) => {
      const scopeAt = `${at}.scopeLogs[${s}]`;
      const scopeLog = objectAt(scopeItem, scopeAt);
      const scope = scopeLog.scope === undefined || scopeLog.scope === null ? {} : objectAt(scopeLog.scope, `${scopeAt}.scope`);
      const logger = typeof scope.name === 'string' && scope.name !== '' ? scope.name.slice(0, 256) : undefined;
      notAString(scope.name, `${scopeAt}.scope.name`, (warning) => warn(batch, warning));
      arrayAt(scopeLog.logRecords, `${scopeAt}.logRecords`).forEach((recordItem, i) => {
        const recordAt = `${scopeAt}.logRecords[${i}]`;
        const record = toRecord(objectAt(recordItem, recordAt), recordAt, target.runId, logger, ids, maxLineBytes, (warning) => warn(batch, warning));
        if (typeof record === 'string') reject(batch, 1, record);
        else group.records.push(record);
      });
    });
  });
  batch.groups = [...byRun.values()].filter((group) => group.records.length > 0);
  return batch;
}

function reject(batch: OtlpBatch, count: number, reason: string): void {
  if (count === 0) return;
  batch.rejected += count;
  warn(batch, reason);
}

function warn(batch: OtlpBatch, reason: string): void {
  if (batch.errors.length < MAX_REASONS) batch.errors.push(reason);
}

function countRecords(scopeLog: unknown): number {
  const records = typeof scopeLog === 'object' && scopeLog !== null ? (scopeLog as { logRecords?: unknown }).logRecords : undefined;
  return Array.isArray(records) ? records.length : 0;
}

function targetOf(attrs: Map<string, unknown>, runId: string | undefined, at: string, warn: (warning: string) => void): StreamTarget | string {
  const service = attrs.get('service.name');
  // OTel's semantic conventions make it a string: another type names nothing, and is said
  notAString(service, `${at}: service.name`, warn);
  // the run's name and its `service` label: cut to their limit, as a logger name is
  const serviceName = typeof service === 'string' && service !== '' ? cutToBytes(service, Math.min(LIMITS.nameBytes, LIMITS.labelValueBytes)).text : null;
  if (runId !== undefined) {
    if (!isValidRunId(runId)) return `runlog.run_id ${JSON.stringify(runId)}: not a valid run id`;
    return { runId, name: serviceName, service: serviceName, isService: false };
  }
  const name = serviceName ?? 'unknown_service';
  return { runId: serviceRunId(name), name, service: name, isService: true };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The text of the resource's `runlog.run_id` (the last one given, as keyValues reads it): a
 * stringValue, or an intValue as its decimal text (a numeric id set as a number, which OTLP/JSON
 * writes as a string or a number, protobuf as an int64). Another type rejects that resource's
 * records (a partial success whose message names the attribute): sending its lines to the
 * service's stream would hide the mistake, and a 400 would lose the other resources' lines of a
 * collector's batch with them.
 */
function runIdOf(list: unknown, at: string): string | undefined | { rejected: string } {
  if (!Array.isArray(list)) return undefined;
  const index = list.findLastIndex((item) => typeof item === 'object' && item !== null && (item as { key?: unknown }).key === 'runlog.run_id');
  if (index === -1) return undefined;
  const value = (list[index] as { value?: unknown }).value;
  const any = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  if (typeof any.stringValue === 'string') return any.stringValue;
  const int = any.intValue === undefined ? undefined : int64Text(any.intValue);
  if (int !== undefined) return int;
  const got = any.intValue !== undefined ? `intValue ${JSON.stringify(any.intValue)}, not an int64` : JSON.stringify(value ?? null);
  return { rejected: `${at}[${index}].value: runlog.run_id: expected a stringValue or an intValue, got ${got}` };
}

/** An int64 as the JSON mapping gives it (a string of digits, or a number) → its decimal text. */
function int64Text(value: unknown): string | undefined {
  let int: bigint;
  if (typeof value === 'number' && Number.isSafeInteger(value)) int = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) int = BigInt(value);
  else return undefined;
  return int >= INT64_MIN && int <= INT64_MAX ? int.toString() : undefined;
}

function toRecord(
  raw: Record<string, unknown>,
  at: string,
  stream: string,
  logger: string | undefined,
  ids: Ids,
  maxLineBytes: number,
  warn: (warning: string) => void,
): LogRecord | string {
  const stamped = nanosToMicros(raw.timeUnixNano);
  if (stamped === null) return `${at}.timeUnixNano: expected nanoseconds since the epoch, a date from 1970 to 9999`;
  const observed = nanosToMicros(raw.observedTimeUnixNano);
  if (observed === null) return `${at}.observedTimeUnixNano: expected nanoseconds since the epoch, a date from 1970 to 9999`;
  const time = stamped ?? observed;
  const message = messageOf(raw.body);
  if (message === null) return `${at}.body: expected an AnyValue (an object such as {"stringValue": "…"})`;
  const cut = cutToBytes(message, maxLineBytes);
  if (raw.severityNumber !== undefined && raw.severityNumber !== null && raw.severityNumber !== 0 && severityOf(raw.severityNumber) === undefined) {
    warn(`${at}.severityNumber: ${JSON.stringify(raw.severityNumber)} is not 1–24; the level comes from severityText, else INFO`);
  }
  const record: LogRecord = {
    stream,
    seq: 0,
    timestamp: time ?? nowMicros(),
    level: levelOf(raw.severityNumber, raw.severityText),
    message: cut.text,
    source: 'sdk',
    phase: 'run',
  };
  if (logger !== undefined) record.logger = logger;
  const attrs = boundedAttrs(raw.attributes, at);
  if (typeof attrs === 'string') return attrs;
  const traceId = idOf(raw.traceId, ids, 16, `${at}.traceId`, warn);
  const spanId = idOf(raw.spanId, ids, 8, `${at}.spanId`, warn);
  if (traceId !== undefined) attrs.trace_id = traceId;
  if (spanId !== undefined) attrs.span_id = spanId;
  if (typeof raw.eventName === 'string' && raw.eventName !== '') attrs.event_name = raw.eventName.slice(0, 256);
  notAString(raw.severityText, `${at}.severityText`, warn);
  notAString(raw.eventName, `${at}.eventName`, warn);
  if (cut.truncated) attrs.truncated = true;
  if (Object.keys(attrs).length > 0) record.attrs = attrs;
  return record;
}

/**
 * A string field given as another type is left out of the record, and said as OTLP's warning (a
 * partial success rejecting none), as a trace id of the wrong length is: not dropped unsaid.
 */
function notAString(value: unknown, at: string, warn: (warning: string) => void): void {
  if (value !== undefined && value !== null && typeof value !== 'string') warn(`${at}: expected a string, got ${JSON.stringify(value).slice(0, 40)}; left out`);
}

/** 1–4 TRACE, 5–8 DEBUG → DEBUG; 9–12 INFO; 13–16 WARN; 17–20 ERROR; 21–24 FATAL → CRITICAL. */
export function levelOf(severityNumber: unknown, severityText: unknown): Level {
  const number = severityOf(severityNumber);
  if (number !== undefined) {
    if (number <= 8) return 'DEBUG';
    if (number <= 12) return 'INFO';
    if (number <= 16) return 'WARNING';
    if (number <= 20) return 'ERROR';
    return 'CRITICAL';
  }
  if (typeof severityText === 'string') {
    const level = parseLevel(severityText.trim().replace(/\d+$/, '')); // "WARN2" → WARN
    if (level !== undefined) return level;
  }
  return 'INFO';
}

/** A severity number of 1–24 (or its enum name), else undefined. */
function severityOf(value: unknown): number | undefined {
  const number = typeof value === 'string' ? SEVERITY_NAMES[value] ?? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) && number >= 1 && number <= 24 ? number : undefined;
}

/** the enum's names, which the proto3 JSON mapping also allows */
const SEVERITY_NAMES: Readonly<Record<string, number>> = Object.fromEntries(
  ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((name, band) =>
    ['', '2', '3', '4'].map((suffix, step) => [`SEVERITY_NUMBER_${name}${suffix}`, band * 4 + step + 1]),
  ),
);

/**
 * ns as a decimal string or a number → µs; 0 or absent → undefined (unset); null: not a time the
 * hub can keep (not a number of ns, or outside 1970–9999: LIMITS.timestampMicros).
 */
function nanosToMicros(value: unknown): number | undefined | null {
  if (value === undefined || value === null || value === 0 || value === '0' || value === '') return undefined;
  let micros: number | null = null;
  if (typeof value === 'number') micros = Number.isFinite(value) && value > 0 ? Math.floor(value / 1000) : null;
  else if (typeof value === 'string' && /^\d{1,20}$/.test(value)) micros = Number(BigInt(value) / 1000n);
  return micros !== null && micros <= LIMITS.timestampMicros.max ? micros : null;
}

/** The body as the line's text: an AnyValue's string, or its value as JSON; null when it is not an AnyValue. */
function messageOf(body: unknown): string | null {
  if (body === undefined || body === null) return '';
  // not the mapping's shape, but a plain string or number says plainly what the line is
  if (typeof body === 'string') return body;
  if (typeof body === 'number' || typeof body === 'boolean') return String(body);
  const value = plainValue(body, 0);
  if (value === undefined) return Array.isArray(body) || Object.keys(body).length > 0 ? null : ''; // {} is an AnyValue with nothing set
  if (value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A trace or span id as lowercase hex, `bytes` long; an all-zero id is no id. One of another
 * length, or not hex (base64 in protobuf), is left out and said.
 */
function idOf(value: unknown, ids: Ids, bytes: number, at: string, warn: (warning: string) => void): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const hex = typeof value !== 'string' ? '' : ids === 'hex' ? value.toLowerCase() : Buffer.from(value, 'base64').toString('hex');
  if (hex.length !== bytes * 2 || !/^[0-9a-f]+$/.test(hex)) {
    warn(`${at}: expected ${bytes} bytes${ids === 'hex' ? ' as hex' : ''}; left out`);
    return undefined;
  }
  return /^0+$/.test(hex) ? undefined : hex;
}

/**
 * Attributes → attrs, at most MAX_ATTR_DEPTH deep (deeper values become "[too deep]") and
 * MAX_ATTRS_BYTES as JSON: the attributes that do not fit, and those without a key, are left out and counted in
 * `attrs_dropped`.
 */
function boundedAttrs(list: unknown, at: string): RecordAttrs | string {
  if (list === undefined || list === null) return {};
  if (!Array.isArray(list)) return `${at}.attributes: expected an array`;
  // entries, then fromEntries: an attribute named __proto__ stays a plain key
  const entries: [string, unknown][] = [];
  let bytes = 2;
  let dropped = 0;
  for (const item of list) {
    if (typeof item !== 'object' || item === null || typeof (item as { key?: unknown }).key !== 'string') {
      dropped++; // not a KeyValue: nothing to name it by, but counted
      continue;
    }
    const { key, value } = item as { key: string; value?: unknown };
    const plain = plainValue(value, 1) ?? null;
    const size = Buffer.byteLength(JSON.stringify(key)) + Buffer.byteLength(JSON.stringify(plain)) + 2;
    if (bytes + size > MAX_ATTRS_BYTES) {
      dropped++;
      continue;
    }
    bytes += size;
    entries.push([RESERVED_ATTRS.has(key) ? `otel.${key}` : key, plain]);
  }
  if (dropped > 0) entries.push(['attrs_dropped', dropped]);
  return Object.fromEntries(entries) as RecordAttrs;
}

/** An AnyValue → a plain JSON value. */
function plainValue(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_ATTR_DEPTH) return '[too deep]';
  const any = value as Record<string, unknown>;
  if (typeof any.stringValue === 'string') return any.stringValue;
  if (typeof any.boolValue === 'boolean') return any.boolValue;
  if (any.intValue !== undefined) {
    const int = typeof any.intValue === 'string' ? Number(any.intValue) : any.intValue;
    // past 2^53 a number would change: keep the digits
    return typeof int === 'number' && Number.isSafeInteger(int) ? int : String(any.intValue);
  }
  if (any.doubleValue !== undefined) {
    const double = Number(any.doubleValue);
    return Number.isFinite(double) ? double : String(any.doubleValue);
  }
  if (typeof any.bytesValue === 'string') return any.bytesValue;
  if (typeof any.arrayValue === 'object' && any.arrayValue !== null) {
    const values = (any.arrayValue as { values?: unknown }).values;
    return Array.isArray(values) ? values.map((item) => plainValue(item, depth + 1) ?? null) : [];
  }
  if (typeof any.kvlistValue === 'object' && any.kvlistValue !== null) {
    const values = (any.kvlistValue as { values?: unknown }).values;
    const entries: [string, unknown][] = [];
    if (Array.isArray(values)) {
      for (const item of values) {
        if (typeof item === 'object' && item !== null && typeof (item as { key?: unknown }).key === 'string') {
          const entry = item as { key: string; value?: unknown };
          entries.push([entry.key, plainValue(entry.value, depth + 1) ?? null]);
        }
      }
    }
    return Object.fromEntries(entries);
  }
  return undefined;
}

function keyValues(list: unknown, at: string): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (list === undefined || list === null) return map;
  for (const item of arrayAt(list, at)) {
    if (typeof item === 'object' && item !== null && typeof (item as { key?: unknown }).key === 'string') {
      const entry = item as { key: string; value?: unknown };
      map.set(entry.key, plainValue(entry.value, 1));
    }
  }
  return map;
}

function objectAt(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(at, 'expected an object');
  return value as Record<string, unknown>;
}

/** absent is empty (proto3 JSON leaves out empty repeated fields) */
function arrayAt(value: unknown, at: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(at, 'expected an array');
  return value;
}
