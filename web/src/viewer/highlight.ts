/**
 * Search matches marked in a line's styled spans: the hub finds lines by their text without ANSI,
 * case-insensitively, and the view shows where in each line the match is.
 */
import type { Span } from './ansi.ts';

export interface MarkedSpan extends Span {
  mark?: true;
}

/**
 * The most matches marked in one line. A long line can hold tens of thousands (a 64 KiB line of
 * `abab…` searched for `ab`), each its own element: 200 such lines on the Logs page crashed the
 * tab, and a screen of them took seconds on the run page. The first ones show where the line
 * matches; the rest of the line is left as it is.
 */
export const MAX_MARKS_PER_LINE = 100;

/** `spans` cut at the edges of each case-insensitive occurrence of `needle` (the first MAX_MARKS_PER_LINE), those pieces marked. */
export function markMatches(spans: readonly Span[], needle: string): MarkedSpan[] {
  if (needle === '') return spans.slice();
  const text = spans.map((span) => span.text).join('');
  const lower = text.toLowerCase();
  // a few characters change length in lower case (İ): offsets would no longer line up, so no marks
  if (lower.length !== text.length) return spans.slice();
  const ranges: [number, number][] = [];
  const wanted = needle.toLowerCase();
  for (let at = lower.indexOf(wanted); at >= 0 && wanted !== '' && ranges.length < MAX_MARKS_PER_LINE; at = lower.indexOf(wanted, at + wanted.length)) {
    ranges.push([at, at + wanted.length]);
  }
  if (ranges.length === 0) return spans.slice();

  const out: MarkedSpan[] = [];
  let offset = 0;
  let range = 0;
  for (const span of spans) {
    const end = offset + span.text.length;
    let cut = offset;
    while (cut < end) {
      // skip ranges that ended before this point
      while (range < ranges.length && ranges[range]![1] <= cut) range++;
      const next = ranges[range];
      const inside = next !== undefined && next[0] <= cut;
      const stop = Math.min(end, next === undefined ? end : inside ? next[1] : next[0]);
      const piece: MarkedSpan = { ...span, text: span.text.slice(cut - offset, stop - offset) };
      if (inside) piece.mark = true;
      out.push(piece);
      cut = stop;
    }
    offset = end;
  }
  return out;
}
