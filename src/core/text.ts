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
