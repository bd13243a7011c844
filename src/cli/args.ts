/** Flag values, checked: a bad one stops the command with a message naming the flag. */
import { LIMITS } from '../core/limits.js';
import { isValidId, isValidRunId, parseLevel, type Level } from '../core/record.js';
import { parseDuration, parseSince } from '../core/time.js';

export class UsageError extends Error {}

export function positiveInt(text: string, flag: string, min = 1): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function durationMs(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${flag}: expected a duration like 500ms, 10s, 5m, got ${JSON.stringify(text)}`);
  return ms;
}

export function sinceMicros(text: string, flag = '--since'): number {
  const micros = parseSince(text);
  if (micros === undefined) throw new UsageError(`${flag}: expected an ISO timestamp or a duration like 10m, got ${JSON.stringify(text)}`);
  return micros;
}

export function level(text: string, flag = '--level'): Level {
  const parsed = parseLevel(text);
  if (parsed === undefined) throw new UsageError(`${flag}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got ${JSON.stringify(text)}`);
  return parsed;
}

export function id(text: string, flag: string): string {
  if (!isValidId(text)) throw new UsageError(`${flag}: ids match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}, got ${JSON.stringify(text)}`);
  return text;
}

export function checkRunId(text: string, flag = '--id'): string {
  id(text, flag);
  if (!isValidRunId(text)) throw new UsageError(`${flag}: \`worker:\` is kept for the lines of workers`);
  return text;
}

/** key=value pairs; for labels (`--label`) within the hub's bounds, so a run is never refused for them after it started */
export function labels(pairs: readonly string[], flag = '--label'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`${flag}: expected key=value, got ${JSON.stringify(pair)}`);
    const [key, value] = [pair.slice(0, at), pair.slice(at + 1)];
    if (flag === '--label' && (Buffer.byteLength(key) > LIMITS.labelKeyBytes || Buffer.byteLength(value) > LIMITS.labelValueBytes)) {
      throw new UsageError(`${flag}: keys of at most ${LIMITS.labelKeyBytes} bytes and values of at most ${LIMITS.labelValueBytes}`);
    }
    out[key] = value;
  }
  if (flag === '--label' && Object.keys(out).length > LIMITS.labels) throw new UsageError(`${flag}: at most ${LIMITS.labels} labels`);
  return out;
}

/** --name: within the hub's bound */
export function runName(text: string | undefined): string | undefined {
  if (text !== undefined && Buffer.byteLength(text) > LIMITS.nameBytes) throw new UsageError(`--name: at most ${LIMITS.nameBytes} bytes`);
  return text;
}
