/**
 * The charset a text body declares (`Content-Type: text/plain; charset=windows-1252`): lines are
 * stored as UTF-8, so a body in another charset is transcoded as it streams in. Without a charset,
 * or with UTF-8 (or its subset US-ASCII), the bytes are used as they are (invalid bytes become
 * U+FFFD in the splitter). A charset the hub cannot decode is a 415 naming it: guessing would store
 * every non-ASCII character as U+FFFD under a 200.
 */
import { RunlogError } from '../core/errors.js';

const AS_IS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8', 'us-ascii', 'ascii']);

/** The TextDecoder label of a Content-Type's charset; undefined when the bytes are UTF-8 already. */
export function bodyCharset(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');
  const charset = match?.[1]?.toLowerCase();
  if (charset === undefined || charset === '' || AS_IS.has(charset)) return undefined;
  try {
    new TextDecoder(charset);
  } catch {
    throw new RunlogError(415, 'UNSUPPORTED_MEDIA_TYPE', `charset ${charset.slice(0, 40)} is not one the hub can decode: send UTF-8, or a charset such as iso-8859-1, windows-1252 or utf-16le`, 'content-type');
  }
  return charset;
}

/** Bytes in `charset` → UTF-8 bytes, a character split across chunks kept whole. */
export async function* transcoded(chunks: AsyncIterable<Buffer>, charset: string): AsyncGenerator<Buffer> {
  // fatal: false: a byte the charset does not map becomes U+FFFD, as in UTF-8 output
  const decoder = new TextDecoder(charset);
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    if (text.length > 0) yield Buffer.from(text, 'utf8');
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield Buffer.from(rest, 'utf8');
}

/** A whole body in `charset` → UTF-8 bytes. */
export function transcode(body: Buffer, charset: string | undefined): Buffer {
  return charset === undefined ? body : Buffer.from(new TextDecoder(charset).decode(body), 'utf8');
}
