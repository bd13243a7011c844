/** Conversions between stored rows and the wire shapes, shared by every Store implementation. */
import { stripVTControlCharacters } from 'node:util';
import { LEVELS, LEVEL_RANK, microsToIso, toWire, type Level, type LogRecord, type Phase, type Source, type WireRecord } from '../core/record.js';
import type { Scope } from '../core/scopes.js';
import type { Run, RunStatus, RunUpsert, SystemLog, TokenRecord } from './store.js';

export interface RunRow {
  id: string;
  name: string | null;
  command: string | null;
  status: string;
  exit_code: number | null;
  signal: string | null;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  error_message: string | null;
  log_path: string | null;
  worker_id: string | null;
  task_id: string | null;
  labels: string | Record<string, string> | null;
  line_count: number;
  diagnostics?: string | null;
  lease_s?: number | null;
  heard_at?: number | string | null;
  lost?: number | boolean | null;
  cancel_by?: string | null;
  cancel_at?: number | string | null;
  rerun_of?: string | null;
  spec?: string | object | null;
}

export function runFromRow(row: RunRow): Run {
  const started = toNumber(row.started_at);
  const completed = toNumber(row.completed_at);
  return {
    id: row.id,
    name: row.name,
    command: row.command,
    status: row.status as RunStatus,
    exit_code: row.exit_code,
    signal: row.signal,
    created_at: microsToIso(toNumber(row.created_at) ?? 0),
    started_at: started === null ? null : microsToIso(started),
    completed_at: completed === null ? null : microsToIso(completed),
    duration_seconds: started !== null && completed !== null ? Math.max(0, completed - started) / 1e6 : null,
    error_message: row.error_message,
    log_path: row.log_path,
    worker_id: row.worker_id,
    task_id: row.task_id,
    labels: typeof row.labels === 'string' ? (JSON.parse(row.labels) as Record<string, string>) : (row.labels ?? {}),
    line_count: Number(row.line_count),
    ...(row.diagnostics ? { diagnostics: parseJson(row.diagnostics) } : {}),
    lease_s: row.lease_s === undefined || row.lease_s === null ? null : Number(row.lease_s),
    last_heard_at: isoOrNull(row.heard_at),
    lost: Boolean(Number(row.lost ?? 0)),
    cancel_requested_by: row.cancel_by ?? null,
    cancel_requested_at: isoOrNull(row.cancel_at),
    rerun_of: row.rerun_of ?? null,
    is_task: row.spec !== undefined && row.spec !== null,
  };
}

export function parseJson(value: string | object): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

export interface LineRow {
  stream: string;
  seq: number;
  ts: number;
  level: number;
  message: string;
  source: string | null;
  phase: string | null;
  logger: string | null;
  task_id: string | null;
  attrs: string | null;
}

const LEVEL_BY_RANK = new Map<number, Level>(LEVELS.map((level) => [LEVEL_RANK[level], level]));

export function recordFromRow(row: LineRow): LogRecord {
  const record: LogRecord = {
    stream: row.stream,
    seq: Number(row.seq),
    timestamp: Number(row.ts),
    level: LEVEL_BY_RANK.get(row.level) ?? 'INFO',
    message: row.message,
  };
  if (row.source !== null) record.source = row.source as Source;
  if (row.phase !== null) record.phase = row.phase as Phase;
  if (row.logger !== null) record.logger = row.logger;
  if (row.task_id !== null) record.task_id = row.task_id;
  if (row.attrs !== null) record.attrs = JSON.parse(row.attrs) as LogRecord['attrs'];
  return record;
}

/** The message as search sees it: stored only when it differs from the message. */
export function plainText(message: string): string | null {
  return message.includes('\x1b') ? stripVTControlCharacters(message) : null;
}

/** A LIKE pattern matching `text` anywhere, with its wildcards escaped (ESCAPE '\'). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `key=value` as a LIKE pattern for a label in the stored labels JSON; undefined for other text. */
export function labelPattern(text: string): string | undefined {
  const match = /^([^=\s]+)=(.*)$/.exec(text.trim());
  if (match === null) return undefined;
  return likePattern(`${JSON.stringify(match[1])}:${JSON.stringify(match[2])}`);
}

function isoOrNull(value: number | string | null | undefined): string | null {
  return value === undefined || value === null ? null : microsToIso(Number(value));
}

function toNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

/**
 * A worker's line (stream `worker:<id>`) in the shape of the seeds' `system_logs` table. Its
 * `metadata` is the line's attrs and logger, and the `metadata` object its sender gave (kept as
 * `attrs.metadata`, nested so a sender's key can never pass for one of ours, like `group`),
 * flattened: the sender's keys as it sent them win.
 */
export function systemLogFromRecord(record: LogRecord): SystemLog {
  const { metadata, ...attrs } = record.attrs ?? {};
  return {
    id: `${record.stream}/${record.seq}`,
    seq: record.seq,
    timestamp: microsToIso(record.timestamp),
    level: record.level,
    message: record.message,
    source_type: 'worker',
    source_id: record.stream.slice('worker:'.length),
    task_id: record.task_id ?? null,
    metadata: {
      ...attrs,
      ...(record.logger ? { logger: record.logger } : {}),
      ...metadataObject(metadata),
    },
  };
}

/**
 * The seed's function stores whatever `metadata` a caller sent, an array or a string too: spread
 * as it was, `"hello"` became `{"0":"h",…}` in search and the live stream while /api/logs gave the
 * string. Every view shows an object: a value that is not one is kept under the key `metadata`,
 * as the hub stores such a value sent beside attrs (appendSystemLogs).
 */
export function metadataObject(stored: unknown): Record<string, unknown> {
  if (stored === null || stored === undefined) return {};
  if (typeof stored === 'object' && !Array.isArray(stored)) return stored as Record<string, unknown>;
  return { metadata: stored };
}

/**
 * A line found by a search across runs (GET /api/search, `runlog grep --json`), with where it
 * lives: a run (`run_id`) or a worker (`worker_id`). A worker's line has its `metadata` as
 * /api/logs gives it (the sender's object with the logger), not nested in `attrs`.
 */
export interface SearchMatch extends WireRecord {
  run_id?: string;
  worker_id?: string;
  metadata?: Record<string, unknown>;
}

export function searchMatch(record: LogRecord): SearchMatch {
  if (!record.stream.startsWith('worker:')) return { ...toWire(record), run_id: record.stream };
  const { metadata: _nested, ...attrs } = record.attrs ?? {};
  const wire = toWire({ ...record, attrs: Object.keys(attrs).length > 0 ? attrs : undefined });
  return { ...wire, worker_id: record.stream.slice('worker:'.length), metadata: systemLogFromRecord(record).metadata };
}

/** A token as both stores keep it (times in µs; BIGINT may come back as text). */
export interface TokenRow {
  name: string;
  hash: string;
  scopes: string;
  worker_id: string | null;
  created_at: number | string;
  expires_at: number | string | null;
  last_used_at: number | string | null;
  created_by: string | null;
}

export function tokenFromRow(row: TokenRow): TokenRecord {
  const iso = (value: number | string | null) => (value === null ? null : microsToIso(Number(value)));
  return {
    name: row.name,
    hash: row.hash,
    scopes: row.scopes.split(',').filter(Boolean) as Scope[],
    worker_id: row.worker_id,
    created_at: iso(row.created_at) as string,
    expires_at: iso(row.expires_at),
    last_used_at: iso(row.last_used_at),
    created_by: row.created_by,
  };
}

/** The values of a queued task's row, in the order both stores insert them: id, name, command, created_at, task_id, labels, spec, rerun_of. */
export function taskRowValues(run: RunUpsert, spec: unknown, createdAt: number): (string | number | null)[] {
  return [run.id, run.name ?? null, run.command ?? null, createdAt, run.task_id ?? run.id, JSON.stringify(run.labels ?? {}), JSON.stringify(spec), run.rerun_of ?? null];
}

/** The columns an upsert of an existing run changes: only those the caller gave. */
export function updatableFields(run: RunUpsert): [string, string | number | null][] {
  const fields: [string, string | number | null][] = [];
  if (run.name !== undefined) fields.push(['name', run.name]);
  if (run.command !== undefined) fields.push(['command', run.command]);
  if (run.status !== undefined) fields.push(['status', run.status]);
  if (run.started_at !== undefined) fields.push(['started_at', run.started_at]);
  if (run.log_path !== undefined) fields.push(['log_path', run.log_path]);
  if (run.worker_id !== undefined) fields.push(['worker_id', run.worker_id]);
  if (run.task_id !== undefined) fields.push(['task_id', run.task_id]);
  if (run.labels !== undefined) fields.push(['labels', JSON.stringify(run.labels)]);
  return fields;
}
