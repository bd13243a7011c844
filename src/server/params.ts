/** Request parameters, checked: a bad one is a 400 that names it, never a 500. */
import { badRequest } from '../core/errors.js';
import { isValidId, isValidRunId, parseLevel, type Level } from '../core/record.js';
import { parseSince } from '../core/time.js';
import { LIMITS } from '../core/limits.js';
import { RUN_STATUSES, type RunStatus, type WorkerLineRef } from '../store/store.js';

export type Query = Record<string, string | string[] | undefined>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw badRequest(name, 'given more than once');
  return value === '' ? undefined : value;
}

export function idParam(value: unknown, name = 'id'): string {
  if (!isValidId(value)) throw badRequest(name, 'must match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}');
  return value;
}

/**
 * A worker's id to look up: the ids runlog gives out (idParam), and any other a worker wrote into
 * PostgreSQL itself through the seed's function, which takes any text ("vast ai/worker #3") within
 * the same bound (postgres/worker-ids.ts): 1 to 256 characters, counted as PostgreSQL counts them
 * (code points: an emoji is one), no control characters.
 */
export function workerIdParam(value: unknown, name = 'id'): string {
  if (typeof value !== 'string' || value.length === 0 || [...value].length > LIMITS.workerIdChars || /[\p{Cc}]/u.test(value)) {
    throw badRequest(name, `expected a worker id: 1 to ${LIMITS.workerIdChars} characters, no control characters`);
  }
  return value;
}

/**
 * The worker whose lines GET /api/logs and /api/logs/stream give: `source_id` (the seeds' column)
 * or `worker_id` (as every other route names it), not two different ones.
 */
export function workerFilterParam(query: Query): string | undefined {
  const sourceId = textParam(query, 'source_id');
  const workerId = textParam(query, 'worker_id');
  if (sourceId !== undefined && workerId !== undefined && sourceId !== workerId) {
    throw badRequest('worker_id', 'names another worker than source_id: give one of them');
  }
  if (workerId !== undefined) return workerIdParam(workerId, 'worker_id');
  return sourceId === undefined ? undefined : workerIdParam(sourceId, 'source_id');
}

/**
 * A worker line's id as GET /api/logs gives it, `worker:<worker id>/<seq>` (the worker id may hold
 * `/`: the seq is after the last one).
 */
export function workerLineParam(query: Query, name: string): WorkerLineRef | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  const slash = text.lastIndexOf('/');
  const seq = text.slice(slash + 1);
  if (!text.startsWith('worker:') || slash < 0 || !/^\d{1,16}$/.test(seq) || !Number.isSafeInteger(Number(seq))) {
    throw badRequest(name, `expected a line's id as GET /api/logs gives it (worker:<worker id>/<seq>), got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { source_id: workerIdParam(text.slice('worker:'.length, slash), name), seq: Number(seq) };
}

export function runIdParam(value: unknown, name = 'id'): string {
  const id = idParam(value, name);
  if (!isValidRunId(id)) throw badRequest(name, '`worker:` is kept for the lines of workers');
  return id;
}

export function intParam(query: Query, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  return checkInt(text, name, min, max);
}

/** What an integer parameter may be, as its 400 says it: `-1` was "expected an integer", not its bound. */
function intBounds(min: number, max: number): string {
  return max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min} (at most 2^53 − 1)` : `an integer from ${min} to ${max}`;
}

export function checkInt(text: string, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw badRequest(name, `expected ${intBounds(min, max)}, got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/** `1`/`true` or `0`/`false`; absent is `fallback`. */
export function boolParam(query: Query, name: string, fallback = false): boolean {
  const text = single(query, name);
  if (text === undefined) return fallback;
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  throw badRequest(name, `expected 1, true, 0 or false, got ${JSON.stringify(text.slice(0, 40))}`);
}

export function sinceParam(query: Query, name = 'since'): number | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  const micros = parseSince(text);
  if (micros === undefined) throw badRequest(name, `expected an ISO timestamp, a number since the epoch or a duration like 10m, got ${JSON.stringify(text.slice(0, 40))}`);
  return micros;
}

export function levelParam(query: Query, name = 'level'): Level | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  const level = parseLevel(text);
  if (level === undefined) throw badRequest(name, `expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got ${JSON.stringify(text.slice(0, 40))}`);
  return level;
}

export function textParam(query: Query, name: string, maxLength: number = LIMITS.queryTextChars): string | undefined {
  const text = single(query, name);
  // characters as the docs count them, code points: `.length` counts an emoji twice, and 600 of
  // them were "longer than 1000 characters"
  if (text !== undefined && text.length > maxLength && [...text].length > maxLength) throw badRequest(name, `longer than ${maxLength} characters`);
  return text;
}

/** `?status=`: one status, or none (absent or empty) */
export function statusQueryParam(query: Query): RunStatus | undefined {
  const text = single(query, 'status');
  return text === undefined ? undefined : statusParam(text);
}

export function statusParam(value: unknown, name = 'status'): RunStatus {
  if (typeof value !== 'string' || !(RUN_STATUSES as readonly string[]).includes(value)) {
    throw badRequest(name, `expected one of ${RUN_STATUSES.join(', ')}`);
  }
  return value as RunStatus;
}

/** `label=k=v`, repeatable: runs with every one of these labels (one value a key). */
export function labelParams(query: Query): Record<string, string> | undefined {
  const raw = query.label;
  if (raw === undefined || raw === '') return undefined;
  // no prototype: a key `__proto__` is a label like any other
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const pair of Array.isArray(raw) ? raw : [raw]) {
    const at = pair.indexOf('=');
    if (at < 1) throw badRequest('label', `expected key=value, got ${JSON.stringify(pair.slice(0, 40))}`);
    const [key, value] = [pair.slice(0, at), pair.slice(at + 1)];
    // every label must hold, and a run has one value a key: two would match nothing (the last one won)
    if (Object.hasOwn(labels, key) && labels[key] !== value) throw badRequest('label', `${JSON.stringify(key.slice(0, 40))} given two values: a run has one`);
    labels[key] = value;
  }
  return labels;
}
