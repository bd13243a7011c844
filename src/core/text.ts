/** Text limits measured in UTF-8 bytes, the way lines are limited where they are captured. */

export function cutToBytes(text: string, maxBytes: number): { text: string; truncated: boolean } {
  // a string of n UTF-16 units is at most 3n bytes: most lines need no measuring
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  const bytes = Buffer.from(text).subarray(0, maxBytes);
  // decoding drops a character cut in two to U+FFFD: remove it
  return { text: bytes.toString('utf8').replace(/\uFFFD$/, ''), truncated: true };
}

/**
 * Text as `q` (search, log filters) compares it: ASCII letters lowercased, every other character
 * as it is (docs/api.md: "case-insensitive (ASCII letters)"), which is what SQLite's LIKE does.
 * Not toLowerCase(): it folds İ (U+0130) to "i̇" and K (U+212A, Kelvin) to "k", so q=i found lines
 * with neither an i nor an I.
 */
export function foldAscii(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()) : text;
}

/** A command as a shell would read it back (`sh -c 'echo hi'`): for display, never executed. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

// the UTF-8 byte order mark Windows tools (Notepad, PowerShell's Out-File) write first; a body or
// a file starts with it, a line never does, so only the first bytes are looked at
export const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const NOTHING = Buffer.alloc(0);

/** The bytes without a leading UTF-8 BOM. */
export function withoutBom(bytes: Buffer): Buffer {
  return bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

/**
 * Drops a UTF-8 BOM at the start of bytes that come in pieces (a streamed body, a file read as it
 * grows), even when the BOM's own bytes come in separate pieces.
 */
export class BomSkipper {
  /** the first bytes while they may still be a BOM; undefined once that is decided */
  private head: Buffer | undefined = NOTHING;

  /** The bytes to use now: none while the first bytes may still be a BOM. */
  take(chunk: Buffer): Buffer {
    if (this.head === undefined) return chunk;
    const head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) {
      this.head = Buffer.from(head); // a copy: a reader may reuse its buffer
      return NOTHING;
    }
    this.head = undefined;
    return withoutBom(head);
  }

  /** The bytes held as a possible BOM when the bytes end (or start over) there: text after all. */
  rest(): Buffer {
    const head = this.head ?? NOTHING;
    this.head = undefined;
    return head;
  }
}

/** A streamed body without its leading UTF-8 BOM. */
export async function* chunksWithoutBom(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const bom = new BomSkipper();
  for await (const chunk of chunks) {
    const text = bom.take(chunk);
    if (text.length > 0) yield text;
  }
  const rest = bom.rest();
  if (rest.length > 0) yield rest;
}
