/**
 * Body fields, checked against their bounds (src/core/limits.ts): a value past one is a 400 that
 * names the field. JSON values are walked without recursion (src/core/json-bounds.ts), so a body
 * nested 100,000 deep costs a loop, not the stack.
 */
import { badRequest } from '../core/errors.js';
import { fitsBytes, JSON_BOUNDS, jsonDepth, type JsonBounds } from '../core/json-bounds.js';
import { LIMITS } from '../core/limits.js';

export { fitsBytes };

/** A string of at most `maxBytes` UTF-8 bytes. */
export function textField(value: unknown, field: string, maxBytes: number): string {
  if (typeof value !== 'string') throw badRequest(field, 'expected a string');
  if (!fitsBytes(value, maxBytes)) throw badRequest(field, `longer than ${maxBytes} bytes`);
  return value;
}

/** As textField; absent or null is undefined. */
export function optionalText(value: unknown, field: string, maxBytes: number): string | undefined {
  return value === undefined || value === null ? undefined : textField(value, field, maxBytes);
}

/** Any JSON value within `bounds`: depth first (so that serializing it is safe), then size. */
export function boundedJson(value: unknown, field: string, bounds: JsonBounds = JSON_BOUNDS): unknown {
  if (jsonDepth(value, bounds.depth) > bounds.depth) throw badRequest(field, `nested deeper than ${bounds.depth} levels`);
  const text = JSON.stringify(value) ?? '';
  if (!fitsBytes(text, bounds.bytes)) throw badRequest(field, `larger than ${bounds.bytes} bytes as JSON`);
  return value;
}

/** A JSON object (not an array) within `bounds`. */
export function boundedObject(value: unknown, field: string, bounds: JsonBounds = JSON_BOUNDS): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(field, 'expected an object');
  return boundedJson(value, field, bounds) as Record<string, unknown>;
}

/** Labels on a run or a task: at most 64, keys and values strings of at most 256 bytes. */
export function labelsField(value: unknown, field = 'labels'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(field, 'expected an object of strings');
  const entries = Object.entries(value);
  if (entries.length > LIMITS.labels) throw badRequest(field, `at most ${LIMITS.labels} labels, got ${entries.length}`);
  for (const [key, label] of entries) {
    if (!fitsBytes(key, LIMITS.labelKeyBytes)) throw badRequest(`${field}.${key.slice(0, 64)}…`, `a key longer than ${LIMITS.labelKeyBytes} bytes`);
    textField(label, `${field}.${key}`, LIMITS.labelValueBytes);
  }
  return value as Record<string, string>;
}

/** A worker's heartbeat interval in seconds (1–3600); absent or null is undefined. */
export function intervalField(value: unknown, field = 'heartbeat_interval_s'): number | undefined {
  if (value === undefined || value === null) return undefined;
  const { min, max } = LIMITS.heartbeatIntervalS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw badRequest(field, `expected a number of seconds from ${min} to ${max}`);
  }
  return value;
}
