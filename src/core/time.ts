/** Time arguments as users write them: an ISO timestamp, or a duration back from now (`10m`, `2h`). */
import { nowMicros } from './record.js';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in a duration like `500ms`, `20s`, `10m`, `2h`, `7d`; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] ?? 0);
}

/** An ISO timestamp → µs since the epoch; undefined when it does not parse. */
export function parseIsoMicros(text: string): number | undefined {
  // a bare date or a date-time; Date.parse alone accepts too much ("1", "May 3")
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return undefined;
  const trimmed = text.trim();
  // a time without a zone is UTC, whatever the zone of the machine reading it
  const zoned = /[T ]\d{2}:\d{2}/.test(trimmed) && !/(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? `${trimmed}Z` : trimmed;
  const ms = Date.parse(zoned.replace(' ', 'T'));
  if (Number.isNaN(ms)) return undefined;
  const fraction = /\.(\d+)/.exec(text);
  const extraMicros = fraction?.[1] && fraction[1].length > 3 ? Number(fraction[1].slice(3, 6).padEnd(3, '0')) : 0;
  return ms * 1000 + extraMicros;
}

/**
 * An epoch timestamp in whatever unit its sender counts → µs: seconds (Python's `time.time()`,
 * a float), milliseconds (`Date.now()`) or microseconds, told apart by size: below 1e11 is seconds
 * (1e11 s is the year 5138), below 1e14 milliseconds (1e14 ms is 5138 too), else microseconds.
 * Undefined for a negative or non-finite number.
 */
export function epochToMicros(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (value < 1e11) return Math.round(value * 1e6);
  if (value < 1e14) return Math.round(value * 1e3);
  return Math.round(value);
}

/** `--since`: an ISO timestamp or a duration back from now → µs; undefined when neither. */
export function parseSince(text: string): number | undefined {
  const duration = parseDuration(text);
  if (duration !== undefined) return nowMicros() - duration * 1000;
  return parseIsoMicros(text);
}
