/**
 * PostgreSQL's text and jsonb cannot hold U+0000 (a NUL in a parameter is error 22021, in jsonb
 * 22P05), while SQLite keeps it and a job may well print one. Every query of the PostgreSQL store
 * goes through NulSafeClient, which replaces U+0000 in its parameters' strings (object keys and
 * values too, for jsonb) with U+FFFD, the character a reader gets for bytes that are not text: a
 * line with a NUL is stored, shown, searched, never a 500 that a sender would retry forever.
 *
 * A lone UTF-16 surrogate (half of a pair: JSON's "\ud800", Python's surrogateescape of bytes
 * that are not UTF-8) is the same trouble for jsonb: JSON.stringify writes it as an escape that
 * jsonb refuses (22P02), so one heartbeat with it in a line's metadata was a 500, and one run with
 * it in a label made every label query (labels::jsonb) a 500. It becomes U+FFFD too, as text
 * parameters already get it (pg encodes them as UTF-8, which has no lone surrogates).
 */
import pg from 'pg';

const NUL = '\u0000';
const REPLACEMENT = '\uFFFD';
const NUL_ESCAPE = '\\u0000';
/** `\u0000` as an escape, not after an escaped backslash (`\\u0000` is the text \u0000) */
const JSON_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g;
/** half of a surrogate pair without its other half, as a character */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;
/** the escape of a surrogate, to look closer at: a text without one needs no parse */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** a high surrogate's escape not followed by a low one's, or a low one's not after a high one's */
const JSON_LONE_HIGH = /(?<!\\)((?:\\\\)*)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})/g;
const JSON_LONE_LOW = /(?<!\\)((?:\\\\)*)(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/g;

/**
 * A jsonb parameter the store wrote with JSON.stringify, which writes U+0000 as the escape `\u0000`
 * and a lone surrogate as its escape (`\ud800`): those escapes become `\ufffd`.
 */
function withoutBadEscapes(text: string): string {
  if (!/^\s*[[{"]/.test(text)) return text; // not JSON: a line that says \u0000 is kept as it is
  try {
    JSON.parse(text);
  } catch {
    return text;
  }
  return text.replace(JSON_NUL, '$1\\ufffd').replace(JSON_LONE_HIGH, '$1\\ufffd').replace(JSON_LONE_LOW, '$1\\ufffd');
}

/** `value` with every U+0000 and lone surrogate in its strings replaced; the same object when it has none. */
export function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') {
    let text = value.includes(NUL) ? value.replaceAll(NUL, REPLACEMENT) : value;
    if (LONE_SURROGATE.test(text)) text = text.replace(LONE_SURROGATES, REPLACEMENT);
    return text.includes(NUL_ESCAPE) || SURROGATE_ESCAPE.test(text) ? withoutBadEscapes(text) : text;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    const items = value.map(withoutNul);
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  if (!isPlain(value)) return value; // pg serializes these its own way
  let changed = false;
  const entries = Object.entries(value).map(([key, item]) => {
    const cleanKey = withoutNul(key) as string;
    const cleanItem = withoutNul(item);
    if (cleanKey !== key || cleanItem !== item) changed = true;
    return [cleanKey, cleanItem] as const;
  });
  return changed ? Object.fromEntries(entries) : value;
}

/** pg.Client whose queries take parameters holding U+0000 (see the header). */
export class NulSafeClient extends pg.Client {
  // pg's overloads, passed through: only the parameters are looked at
  override query(...args: unknown[]): never {
    const [config, values] = args;
    if (Array.isArray(values)) args[1] = withoutNul(values);
    else if (isPlain(config) && Array.isArray((config as { values?: unknown }).values)) {
      args[0] = { ...(config as object), values: withoutNul((config as { values: unknown[] }).values) };
    }
    return (super.query as (...rest: unknown[]) => never)(...args);
  }
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}
