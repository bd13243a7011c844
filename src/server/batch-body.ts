/**
 * The body of `POST /api/runs/:id/logs`, parsed without making one string of it.
 *
 * Why: a runner's batch is up to 2 MiB of JSON. Decoding it whole makes a string past V8's
 * largest regular object (128 KiB), which gets fresh pages of its own, every request; on a VM
 * whose page faults are dear (this project's own machine: ~10 µs each) that decoding was the
 * hub's single largest cost at full speed (45 % of its page faults, ~1.1 s per 1M lines).
 *
 * How: runlog's clients write the body as src/core/batch-wire.ts says, records joined by `,\n`;
 * since JSON text never holds a raw newline inside a string, `,\n` only ever falls between two
 * records. The records are parsed a group of ≤ GROUP_BYTES at a time, each group as the array
 * it is a slice of, with the same parser as any other body (so `__proto__` and `constructor`
 * keys are refused the same way).
 *
 * Anything else (another shape, a small body, a group that does not parse on its own) is parsed
 * whole, as before: the answer, or the error, is then exactly the whole parse's. When every group
 * parses, the whole body is valid JSON with the same value (a list of groups of values, each
 * group a valid list, is a valid list of them all; the rest is checked by parsing it around an
 * empty list).
 */
import { BATCH_END, BATCH_HEAD, BATCH_SEPARATOR } from '../core/batch-wire.js';

/** a body smaller than this is parsed whole: its string is small anyway */
export const FAST_MIN_BYTES = 128 * 1024;
/** bytes of records parsed at a time: their string stays a regular object even when every character takes two bytes */
const GROUP_BYTES = 32 * 1024;

const HEAD = Buffer.from(BATCH_HEAD);

/**
 * `parse`: the JSON parser for a whole text (the one the app uses for every other body); it
 * throws on what it refuses. Returns what `parse(body.toString())` would, or throws what it would.
 */
export function parseBatchBody(body: Buffer, parse: (text: string) => unknown): unknown {
  return (body.length >= FAST_MIN_BYTES && inGroups(body, parse)) || parse(body.toString('utf8'));
}

/** The body's value, parsed a group of records at a time; undefined when it is not of the shape above. */
function inGroups(body: Buffer, parse: (text: string) => unknown): { records: unknown[] } | undefined {
  if (body.compare(HEAD, 0, HEAD.length, 0, HEAD.length) !== 0) return undefined;
  const end = body.lastIndexOf(BATCH_END);
  if (end < HEAD.length) return undefined;
  // the rest of the object, around an empty list; a second "records" key (however spelled) would
  // replace the list: parsed whole, where the last key wins as the whole parse says
  const rest = body.toString('utf8', end + BATCH_END.length);
  if (rest.includes('records') || rest.includes('\\')) return undefined;
  const outer = tryParse(`{"records":[]${rest}`, parse);
  if (outer === undefined || outer === null || typeof outer !== 'object' || Array.isArray(outer)) return undefined;
  const records: unknown[] = [];
  let position = HEAD.length;
  while (position < end) {
    const cut = groupEnd(body, position, end);
    const group = tryParse(`[${body.toString('utf8', position, cut)}]`, parse);
    if (!Array.isArray(group) || group.length === 0) return undefined;
    for (const record of group) records.push(record);
    if (cut === end) break;
    position = cut + BATCH_SEPARATOR.length;
    if (position >= end) return undefined; // a comma before the closing bracket: parsed whole, it is refused
  }
  return { ...(outer as object), records };
}

/** Where the group starting at `from` ends: the last separator within GROUP_BYTES (or the first after, for a long record), or `end`. */
function groupEnd(body: Buffer, from: number, end: number): number {
  if (from + GROUP_BYTES >= end) return end;
  const before = body.lastIndexOf(BATCH_SEPARATOR, from + GROUP_BYTES);
  if (before > from) return before;
  const after = body.indexOf(BATCH_SEPARATOR, from + GROUP_BYTES);
  return after === -1 || after > end ? end : after;
}

function tryParse(text: string, parse: (text: string) => unknown): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}
