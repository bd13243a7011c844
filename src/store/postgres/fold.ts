/**
 * `q` on PostgreSQL as on SQLite: case-insensitive for ASCII letters only (docs/api.md). ILIKE
 * folds by the database's locale, so q=i found İ (U+0130) and q=k found K (U+212A, Kelvin) here
 * and not on SQLite, whose LIKE folds ASCII only. translate() folds A-Z and nothing else.
 */
import { foldAscii } from '../../core/text.js';
import { likePattern } from '../rows.js';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `expression` with its ASCII letters lowercased, to compare with foldedPattern() by LIKE. */
export function asciiFolded(expression: string): string {
  return `translate(${expression}, '${UPPER}', '${UPPER.toLowerCase()}')`;
}

/** The LIKE pattern finding `text` anywhere in an asciiFolded() expression. */
export function foldedPattern(text: string): string {
  return likePattern(foldAscii(text));
}
