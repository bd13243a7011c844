/**
 * JSON values against the bounds of LIMITS (depth and serialized size), without recursion: a
 * value nested 100,000 deep costs a loop, not the stack. The hub refuses what is past them
 * (src/server/fields.ts); senders fit what they send to them first (`fitJsonObject`), so one line's
 * attrs never get a whole batch of lines refused.
 */
import { LIMITS } from './limits.js';

export interface JsonBounds {
  depth: number;
  bytes: number;
}

export const JSON_BOUNDS: JsonBounds = { depth: LIMITS.jsonDepth, bytes: LIMITS.jsonBytes };

/** UTF-8 bytes of a string within `maxBytes`; most strings need no measuring (n UTF-16 units are at most 3n bytes). */
export function fitsBytes(text: string, maxBytes: number): boolean {
  return text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes;
}

/** The deepest nesting of objects and arrays in `value`, walking no further than `limit + 1` (a cycle ends there too). */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (depth > limit) return deepest; // deeper than allowed: no need to know how much deeper
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/**
 * `value` as it is when it fits `bounds`; else `{ attrs_cut: "<its JSON as text, cut to fit>" }`,
 * or `{ attrs_cut: "not serializable: <why>" }` (a cycle, a BigInt, too deep for the stack). Never throws.
 */
export function fitJsonObject(value: Record<string, unknown>, bounds: JsonBounds = JSON_BOUNDS): Record<string, unknown> {
  let text: string;
  try {
    const deep = jsonDepth(value, bounds.depth) > bounds.depth;
    // too deep, its JSON goes as text: flat, and cut below if it is long
    text = JSON.stringify(value) ?? '';
    if (!deep && fitsBytes(text, bounds.bytes)) return value;
  } catch (error) {
    text = `not serializable: ${(error as Error).message}`;
  }
  // cut until the object fits: JSON escapes (\" \n \u0000) make the text longer than its bytes
  const bytes = Buffer.from(text);
  for (let room = bounds.bytes - 16; ; room = Math.floor(room * 0.8)) {
    const cut = { attrs_cut: bytes.subarray(0, room).toString('utf8').replace(/\uFFFD$/, '') };
    if (room <= 0 || fitsBytes(JSON.stringify(cut), bounds.bytes)) return cut;
  }
}

/** Whether `value` surely fits JSON_BOUNDS without measuring: flat, few and short values (the common case of a log call's attrs). */
export function surelyFits(value: Record<string, unknown>): boolean {
  let worst = 2;
  for (const key in value) {
    const item = value[key];
    if (typeof item === 'object' && item !== null) return false;
    // 6 bytes a character is the worst JSON escape; numbers and the like are short
    worst += 6 * key.length + 4 + (typeof item === 'string' ? 6 * item.length : 32);
    if (worst > JSON_BOUNDS.bytes) return false;
  }
  return true;
}
