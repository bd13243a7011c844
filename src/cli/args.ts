/** Flag values, checked: a bad one stops the command with a message naming the flag. */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { isDefaultDataDir } from '../core/config.js';
import { LIMITS } from '../core/limits.js';
import { makeDirectory } from '../core/make-dir.js';
import { isValidId, isValidRunId, parseLevel, type Level } from '../core/record.js';
import { parseDuration, parseSince } from '../core/time.js';
import { MAX_PAGE } from '../store/store.js';

export class UsageError extends Error {}

export function positiveInt(text: string, flag: string, min = 1): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * --limit of a list the hub pages (runs, grep): 1 to MAX_PAGE, the hub's bound, checked here so
 * that a hub and the local store take the same values (the local store cut 20000 to 10000 in
 * silence, a hub refused it naming its own parameter).
 */
export function pageLimit(text: string, flag = '--limit'): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_PAGE) {
    throw new UsageError(`${flag}: expected 1 to ${MAX_PAGE} (the hub's limit for one page), got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function durationMs(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${flag}: expected a duration like 500ms, 10s, 5m, got ${JSON.stringify(text)}`);
  return ms;
}

/** A duration above zero: an age to delete beyond (0 would delete everything), a poll or idle time (0 would spin, or stop at once). */
export function positiveDurationMs(text: string, flag: string, why = ''): number {
  const ms = durationMs(text, flag);
  if (ms < 1) throw new UsageError(`${flag}: expected a duration above 0, like 500ms, 30s, 48h${why ? ` (${why})` : ''}, got ${JSON.stringify(text)}`);
  return ms;
}

export function sinceMicros(text: string, flag = '--since'): number {
  const micros = parseSince(text);
  if (micros === undefined) throw new UsageError(`${flag}: expected an ISO timestamp, a number since the epoch or a duration like 10m, got ${JSON.stringify(text)}`);
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

/**
 * A worker id to read: wider than the ids runlog gives out, since the seeds' function takes any
 * text (`vast ai/worker #3`) and the hub reads it (the rule of GET /api/workers/:id).
 */
export function workerId(text: string, flag: string): string {
  if (text.length === 0 || [...text].length > LIMITS.workerIdChars || /[\p{Cc}]/u.test(text)) {
    throw new UsageError(`${flag}: expected a worker id: 1 to ${LIMITS.workerIdChars} characters, no control characters, got ${JSON.stringify(text)}`);
  }
  return text;
}

export function checkRunId(text: string, flag = '--id'): string {
  id(text, flag);
  if (!isValidRunId(text)) throw new UsageError(`${flag}: \`worker:\` is kept for the lines of workers`);
  return text;
}

export function labels(pairs: readonly string[], flag = '--label', limits = flag === '--label'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`${flag}: expected key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, at);
    const value = pair.slice(at + 1);
    if (limits && (Buffer.byteLength(key) > LIMITS.labelKeyBytes || Buffer.byteLength(value) > LIMITS.labelValueBytes)) {
      throw new UsageError(`${flag}: a label's key and value are at most ${LIMITS.labelValueBytes} bytes each (the hub's limit), got ${JSON.stringify(pair.slice(0, 40))}…`);
    }
    // a run has one value a key: `--label k=w --label k=v` kept only k=v, in silence
    if (flag === '--label' && key in out && out[key] !== value) {
      throw new UsageError(`${flag}: ${key} given twice (${key}=${out[key]}, ${key}=${value}); a run has one value a key`);
    }
    out[key] = value;
  }
  if (limits && Object.keys(out).length > LIMITS.labels) throw new UsageError(`${flag}: at most ${LIMITS.labels} labels (the hub's limit), got ${Object.keys(out).length}`);
  return out;
}

/** --name within the hub's limit. */
export function checkName(name: string | undefined, flag = '--name'): void {
  // bytes, as the hub counts them: 100 characters of CJK are 300 bytes
  const bytes = name === undefined ? 0 : Buffer.byteLength(name);
  if (bytes > LIMITS.nameBytes) throw new UsageError(`${flag}: at most ${LIMITS.nameBytes} bytes (the hub's limit), got ${bytes}`);
}

/** The command (as a shell would read it back) within the hub's limit. */
export function checkCommandSize(command: string, flag = 'the command'): void {
  const bytes = Buffer.byteLength(command);
  if (bytes > LIMITS.commandBytes) throw new UsageError(`${flag}: at most ${LIMITS.commandBytes / 1024} KiB (the hub's limit), got ${(bytes / 1024).toFixed(1)} KiB; put a long script in a file`);
}

/** --lease: whole seconds, 1 to 3600 (the hub's bounds for lease_s). */
export function leaseSeconds(text: string, flag = '--lease'): number {
  const ms = durationMs(text, flag);
  if (ms < 1000 || ms > 3_600_000) throw new UsageError(`${flag}: expected 1s to 1h, got ${JSON.stringify(text)}`);
  return Math.round(ms / 1000);
}

/**
 * A directory runlog must write in: made when missing; one that cannot be made or written in (a
 * file, a read-only place, /proc) is a bad flag value, exit 2 naming `flag`, said before anything
 * runs (the command ran with a warning and its log file missing, and /proc/x hung: core/make-dir.ts).
 */
export function checkWritableDir(dir: string, flag: string): void {
  try {
    makeDirectory(dir);
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new UsageError(`${flag} ${dir}: runlog cannot write there (${(error as Error).message})`);
  }
}

/**
 * `--data` (or RUNLOG_DATA) checked as checkWritableDir does when the user named a directory;
 * returns whether they did. The default ./.runlog is not checked here: in a working directory
 * runlog cannot write in (a read-only container) each part says its own trouble, and a command
 * that ships to a hub goes on without it.
 */
export function checkNamedDataDir(data: string): boolean {
  const named = !isDefaultDataDir(data);
  if (named) checkWritableDir(resolve(data), '--data');
  return named;
}
