/** The view's filter, applied by the hub to pages (`level=`, `q=`) and here to live lines. */
import type { LineFilter } from '../api/runs.ts';
import { LEVELS, type Level, type LogLine } from '../api/types.ts';
import { plainText } from './ansi.ts';

export const NO_FILTER: LineFilter = { level: null, q: '' };

const rank = (level: Level): number => LEVELS.indexOf(level);

export function isFiltered(filter: LineFilter): boolean {
  return filter.level !== null || filter.q !== '';
}

/** Lines at `level` and above; text searched without ANSI, case-insensitive, as the hub does. */
export function matcher(filter: LineFilter): (line: { level: Level; message: string }) => boolean {
  const min = filter.level === null ? -1 : rank(filter.level);
  const needle = foldAscii(filter.q);
  return (line) => {
    if (min > 0 && rank(line.level) < min) return false;
    return needle === '' || foldAscii(plainText(line.message)).includes(needle);
  };
}

export type { LineFilter, LogLine };

/** As the hub compares `q` (src/core/text.ts foldAscii): ASCII letters lowercased, nothing else (İ is not i). */
function foldAscii(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()) : text;
}
