/** Text limits measured in UTF-8 bytes, the way lines are limited where they are captured. */

export function cutToBytes(text: string, maxBytes: number): { text: string; truncated: boolean } {
  // a string of n UTF-16 units is at most 3n bytes: most lines need no measuring
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  const bytes = Buffer.from(text).subarray(0, maxBytes);
  // decoding drops a character cut in two to U+FFFD: remove it
  return { text: bytes.toString('utf8').replace(/\uFFFD$/, ''), truncated: true };
}

/** A command as a shell would read it back (`sh -c 'echo hi'`): for display, never executed. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

// the UTF-8 byte order mark Windows tools (Notepad, PowerShell's Out-File) write first; a body
// starts with it, a line never does, so only the body's first bytes are looked at
export const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The bytes without a leading UTF-8 BOM. */
export function withoutBom(bytes: Buffer): Buffer {
  return bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

/** A streamed body without its leading UTF-8 BOM, even when the BOM's bytes come in separate chunks. */
export async function* chunksWithoutBom(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of chunks) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    // still a prefix of the BOM: wait for the bytes that tell
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) continue;
    yield withoutBom(head);
    head = undefined;
  }
  if (head !== undefined && head.length > 0) yield head;
}
