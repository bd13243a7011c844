/**
 * The trigram bloom filter of a chunk: every 3 consecutive UTF-16 code units of each line's
 * plain text (ANSI codes stripped, each unit lowercased: foldUnits) set K bits. A query's trigrams all present is
 * "maybe"; one absent is "no line of the chunk contains it", so search skips the chunk.
 *
 * Format: one bloom per segment of the chunk, back to back, each `[k: byte][log2 bytes: byte][bits]`.
 * A merged chunk keeps the blooms of its parts' segments (a bloom cannot grow without its
 * trigrams), and "maybe" is any of them saying maybe.
 *
 * Sizing: about 10 bits per distinct trigram (≈1% false positives with K = 3), a power of two
 * between 64 bytes and 128 KiB. A scratch bitmap over the trigram keys keeps each distinct one
 * once, so the bits are set once per distinct trigram, not once per occurrence (log lines repeat).
 */
import { stripVTControlCharacters } from 'node:util';

const K = 3;
const MIN_BYTES = 64;
const MAX_BYTES = 128 * 1024;
const BITS_PER_TRIGRAM = 10;
/** trigram keys: an ASCII trigram is its own 21-bit key; any other is hashed into the next 2^21 */
const KEY_SPACE = 1 << 22;

/** one bit per key: which trigrams this chunk has already (cleared after each chunk) */
const seen = new Uint32Array(KEY_SPACE / 32);
/** the distinct keys of the chunk being built */
let keys = new Uint32Array(1 << 14);

function trigramKey(a: number, b: number, c: number): number {
  if ((a | b | c) < 128) return (a << 14) | (b << 7) | c;
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77) ^ Math.imul(c + 0x165667b1, 0xc2b2ae3d);
  h ^= h >>> 15;
  return (1 << 21) | (h & ((1 << 21) - 1));
}

/** Adds the distinct trigram keys of one folded line to `keys` from `at`; returns the new end. */
function addKeys(text: string, at: number): number {
  const n = text.length;
  if (n < 3) return at;
  let a = text.charCodeAt(0);
  let b = text.charCodeAt(1);
  for (let i = 2; i < n; i++) {
    const c = text.charCodeAt(i);
    const key = trigramKey(a, b, c);
    const word = key >>> 5;
    const bit = 1 << (key & 31);
    const old = seen[word] as number;
    if ((old & bit) === 0) {
      seen[word] = old | bit;
      if (at === keys.length) growKeys();
      keys[at++] = key;
    }
    a = b;
    b = c;
  }
  return at;
}

/** The K bit positions of a key, from two multiplicative hashes of it. */
function hash1(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 0;
}

function hash2(key: number): number {
  return (Math.imul(key ^ (key >>> 11), 0x85ebca77) >>> 0) | 1;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Text as the bloom keys it: each UTF-16 unit lowercased on its own (ASCII letters, and any other
 * character whose lowercase is one unit). Search matches on ASCII folding only (codec.ts
 * searchText); a per-unit fold keeps every substring of that a substring here, so the bloom never
 * says no for a line that matches. Not toLowerCase() of the whole text: it lowercases by context
 * (Σ at a word's end is ς, elsewhere σ), so a piece of a line was not always a piece of the line's
 * lowercase. Chunks made before keyed toLowerCase(); both agree but for such characters.
 */
function foldUnits(text: string): string {
  let folded = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 128) folded += String.fromCharCode(lowerAscii(code));
    else {
      const unit = String.fromCharCode(code);
      const lower = unit.toLowerCase();
      folded += lower.length === 1 ? lower : unit;
    }
  }
  return folded;
}

/** The keys of a message as search sees it (codec.ts searchText): ANSI codes out, letters folded (foldUnits). */
function addMessageKeys(message: string, at: number): number {
  const plain = message.includes('\x1b') ? stripVTControlCharacters(message) : message;
  if (NON_ASCII.test(plain)) return addKeys(foldUnits(plain), at);
  // ASCII: lowercased here, without making a lowercase copy of each line
  const n = plain.length;
  if (n < 3) return at;
  let a = lowerAscii(plain.charCodeAt(0));
  let b = lowerAscii(plain.charCodeAt(1));
  for (let i = 2; i < n; i++) {
    const c = lowerAscii(plain.charCodeAt(i));
    const key = (a << 14) | (b << 7) | c;
    const word = key >>> 5;
    const bit = 1 << (key & 31);
    const old = seen[word] as number;
    if ((old & bit) === 0) {
      seen[word] = old | bit;
      if (at === keys.length) growKeys();
      keys[at++] = key;
    }
    a = b;
    b = c;
  }
  return at;
}

function lowerAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function growKeys(): void {
  const bigger = new Uint32Array(keys.length * 2);
  bigger.set(keys);
  keys = bigger;
}

/** A bloom of the trigrams of these messages as search sees them (plain, lowercased). */
export function buildBloom(messages: readonly string[]): Buffer {
  let end = 0;
  for (const message of messages) end = addMessageKeys(message, end);
  for (let i = 0; i < end; i++) seen[(keys[i] as number) >>> 5] = 0;
  let bytes = MIN_BYTES;
  while (bytes * 8 < end * BITS_PER_TRIGRAM && bytes < MAX_BYTES) bytes *= 2;
  const bloom = Buffer.alloc(2 + bytes);
  bloom[0] = K;
  bloom[1] = Math.log2(bytes);
  const mask = bytes * 8 - 1;
  for (let i = 0; i < end; i++) {
    const key = keys[i] as number;
    const h1 = hash1(key);
    const h2 = hash2(key);
    for (let k = 0; k < K; k++) {
      const bit = (h1 + Math.imul(k, h2)) & mask;
      const byte = 2 + (bit >>> 3);
      bloom[byte] = (bloom[byte] as number) | (1 << (bit & 7));
    }
  }
  return bloom;
}

/** false ⇒ no line whose bloom this is contains `text` (case-insensitive, plain text). */
export function bloomMayContain(bloom: Buffer, text: string): boolean {
  const query = foldUnits(text);
  if (query.length < 3 || bloom.length === 0) return true;
  const end = addKeys(query, 0);
  const wanted = keys.slice(0, end);
  for (const key of wanted) seen[key >>> 5] = 0;
  for (let offset = 0; offset + 2 <= bloom.length; ) {
    const k = bloom[offset] as number;
    const bytes = 2 ** (bloom[offset + 1] as number);
    if (bloomPartMayContain(bloom, offset + 2, bytes, k, wanted)) return true;
    offset += 2 + bytes;
  }
  return false;
}

function bloomPartMayContain(bloom: Buffer, start: number, bytes: number, k: number, wanted: Uint32Array): boolean {
  const mask = bytes * 8 - 1;
  for (const key of wanted) {
    const h1 = hash1(key);
    const h2 = hash2(key);
    for (let j = 0; j < k; j++) {
      const bit = (h1 + Math.imul(j, h2)) & mask;
      if (((bloom[start + (bit >>> 3)] as number) & (1 << (bit & 7))) === 0) return false;
    }
  }
  return true;
}

/** The blooms of a chunk's segments, in segment order. */
export function splitBlooms(bloom: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 2 <= bloom.length; ) {
    const end = offset + 2 + 2 ** (bloom[offset + 1] as number);
    parts.push(bloom.subarray(offset, end));
    offset = end;
  }
  return parts;
}
