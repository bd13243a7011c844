/** Time arguments as users write them: an ISO timestamp, or a duration back from now (`10m`, `2h`). */
import { LIMITS } from './limits.js';
import { nowMicros } from './record.js';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in a duration like `500ms`, `20s`, `10m`, `2h`, `7d`; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] ?? 0);
}

// a bare date or a date-time; Date.parse alone accepts too much ("1", "May 3", "2026-02-30); an
// offset of hours alone (+00, -02) is ISO 8601's too, and how PostgreSQL prints a timestamptz
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/**
 * An ISO timestamp → µs since the epoch; undefined when it does not parse, is not a real calendar
 * date and time (`2026-02-30`, `25:00`), or falls outside 1970–9999 (LIMITS.timestampMicros).
 * A time without a zone is UTC, whatever the zone of the machine reading it.
 */
export function parseIsoMicros(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed.length > LIMITS.timestampChars) return undefined;
  const match = ISO.exec(trimmed);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((group) => Number(match[group] ?? 0)) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (match[9] !== undefined) {
    const offsetHours = Number(match[10]);
    const offsetRest = Number(match[11] ?? 0);
    if (offsetHours > 23 || offsetRest > 59) return undefined;
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetRest);
  }
  const fraction = (match[7] ?? '').slice(0, 6).padEnd(6, '0');
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // Date.UTC would read years 0–99 as 1900–1999
  utc.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const seconds = utc.getTime(); // ms, a whole second
  if (!(seconds >= LIMITS.timestampMicros.min) || seconds >= Date.UTC(10000, 0, 1)) return undefined;
  // the last ms of 9999 has no double of its own for each of its µs: the last one below 10000 stands for them
  return Math.min(seconds * 1000 + Number(fraction), LIMITS.timestampMicros.max);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
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

const EPOCH_NUMBER = /^\d{1,20}(?:\.\d{1,9})?$/;

/**
 * `since`/`until`: a duration back from now (at most back to 1970), an ISO timestamp, or a number
 * since the epoch (in seconds, ms or µs, as `epochToMicros` tells them apart) → µs; undefined when
 * none of them, or outside 1970–9999.
 */
export function parseSince(text: string): number | undefined {
  const duration = parseDuration(text);
  // a duration that reaches back past 1970 means since the first time there is
  if (duration !== undefined) return Math.max(0, nowMicros() - duration * 1000);
  const trimmed = text.trim();
  if (EPOCH_NUMBER.test(trimmed)) {
    const micros = epochToMicros(Number(trimmed));
    // as a line's timestamp (ingest.ts): a number must come to a safe integer of µs, past which
    // it does not say one µs (`9007199254740993` read as …992): 2^53 µs was taken here, refused there
    return micros !== undefined && Number.isSafeInteger(micros) && micros <= LIMITS.timestampMicros.max ? micros : undefined;
  }
  return parseIsoMicros(text);
}
