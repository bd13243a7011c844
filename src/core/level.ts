/**
 * detectLevel: the explicit level of one log line, or undefined (the caller then uses INFO).
 *
 * A level token counts only where formats put one: at the start of the line, or after tokens that
 * look like a prefix (timestamps, numbers, pids, bracketed fields, `-`/`|` separators, `key=value`
 * fields). The first ordinary word ends the search, so "Got ERROR from upstream" has no level.
 * This runs on every captured line: the common line without a level costs one short token walk.
 */
import { stripVTControlCharacters } from 'node:util';
import type { Level } from './record.js';

/** Level words, upper-cased, of the formats we know (syslog, log4j, zerolog, log15, .NET `fail:`, ...). */
const WORDS: Readonly<Record<string, Level>> = {
  TRACE: 'DEBUG', TRCE: 'DEBUG', TRC: 'DEBUG', DEBUG: 'DEBUG', DBUG: 'DEBUG', DBG: 'DEBUG', VERBOSE: 'DEBUG',
  INFO: 'INFO', INF: 'INFO', INFORMATION: 'INFO', NOTICE: 'INFO',
  WARN: 'WARNING', WARNING: 'WARNING', WRN: 'WARNING',
  ERROR: 'ERROR', EROR: 'ERROR', ERR: 'ERROR', FAIL: 'ERROR', SEVERE: 'ERROR',
  CRITICAL: 'CRITICAL', CRIT: 'CRITICAL', FATAL: 'CRITICAL', FTL: 'CRITICAL',
  EMERG: 'CRITICAL', EMERGENCY: 'CRITICAL', ALERT: 'CRITICAL', PANIC: 'CRITICAL',
};

/** WORDS by the spellings logs use, looked up without case folding (this runs on every token). */
const UPPER_WORDS = new Map(Object.entries(WORDS));
const OTHER_CASE_WORDS = new Map(
  Object.entries(WORDS).flatMap(([w, level]) => [
    [w.toLowerCase(), level],
    [w.charAt(0) + w.slice(1).toLowerCase(), level],
  ]),
);

/** One-letter levels: Android logcat (V D I W E F A), glog (I W E F), Tornado/Jupyter (D I W E C). */
const LETTERS: Readonly<Record<string, Level>> = {
  V: 'DEBUG', D: 'DEBUG', I: 'INFO', W: 'WARNING', E: 'ERROR', F: 'CRITICAL', A: 'CRITICAL', C: 'CRITICAL',
};

/** syslog severity (PRI % 8) → level. */
const SYSLOG: readonly Level[] = ['CRITICAL', 'CRITICAL', 'CRITICAL', 'ERROR', 'WARNING', 'INFO', 'INFO', 'DEBUG'];

const LEVEL_KEYS = new Set(['level', 'lvl', 'severity', 'loglevel', 'levelname', 'log.level']);
/** Words of a timestamp (`Jun 14 15:16:01`, `Mar 17, 2024 4:13:38 PM`): part of a prefix. */
const TIME_WORDS = new Set(
  'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec Mon Tue Wed Thu Fri Sat Sun AM PM'.split(' '),
);
/** The longest level word (INFORMATION). */
const MAX_WORD = 11;
/** A token may be preceded by this many prefix tokens; past that we are in the message. */
const MAX_PREFIX_TOKENS = 10;

const SYSLOG_PRI = /^<(\d{1,3})>/;
const JSON_LEVEL = /"(?:level|severity|lvl|levelname|log\.level)"\s*:\s*(?:"([A-Za-z]+)"|(\d+))/;
/** `W/Tag(123):`, `D/Tag( 1702):`, `I/Tag: msg` (logcat brief and time formats) */
const ANDROID_BRIEF = /[VDIWEFA]\/[^\s:(]+(?:\(\s*\d+\))?\s*:/y;
/** `I0507 12:04:17.597069    1 file.go:12] msg` (glog / klog, Kubernetes) */
const GLOG = /[IWEF]\d{4} \d\d:\d\d:\d\d/y;
/** `npm WARN deprecated`, `npm ERR! code E404`, npm 10's `npm warn` / `npm error` (setup steps) */
const NPM = /npm (WARN|ERR!|warn|error|notice)(?= |$)/y;
/** `/x.py:12: UserWarning: msg` (Python's warnings module) */
const PY_WARNING = /^[A-Z]\w*Warning:$/;
const WORDISH = /[\p{L}\p{N}_]/u;

export function detectLevel(text: string): Level | undefined {
  const line = text.includes('\x1b') ? stripVTControlCharacters(text) : text;
  const start = skipSpaces(line, 0, line.length);
  const first = line.charCodeAt(start);
  if (first === 0x7b /* { */) {
    const level = jsonLevel(line);
    if (level !== undefined) return level; // else maybe a `{file.py:12} INFO` field: scan on
  }
  if (first === 0x3c /* < */) {
    const pri = SYSLOG_PRI.exec(line.slice(start, start + 5));
    if (pri !== null && Number(pri[1]) <= 191) return SYSLOG[Number(pri[1]) % 8];
  }
  return scan(line, start, line.length, true);
}

/** Looks for a level token in line[start, end); `top` is false inside the first bracketed field. */
function scan(line: string, start: number, end: number, top: boolean): Level | undefined {
  let pos = start;
  let prefix = 0; // prefix-like tokens seen so far
  let prevInteger = false; // the previous token was a bare number (a pid / tid)
  while (prefix <= MAX_PREFIX_TOKENS) {
    pos = skipSpaces(line, pos, end);
    if (pos >= end) return undefined;
    const c = line.charCodeAt(pos);

    if (isBracket(c)) {
      const close = closingBracket(line, pos, end);
      if (close < 0) return undefined;
      // [ERROR], [error], [INFO ], (warn), {debug}
      if (close - pos <= MAX_WORD + 3) {
        const level = WORDS[line.slice(pos + 1, close).trim().toUpperCase()];
        if (level !== undefined) return level;
      }
      // a leading field can hold the whole prefix: `[2024-01-01T00:00:00Z INFO  my_crate]`, `[I 12:00 App]`
      if (top && prefix === 0 && c === 0x5b) {
        const nested = scan(line, pos + 1, close, false);
        if (nested !== undefined) return nested;
      }
      pos = isBracket(line.charCodeAt(close + 1)) ? close + 1 : tokenEnd(line, close + 1, end);
      prefix++;
      prevInteger = false;
      continue;
    }

    if (line.charCodeAt(pos + 1) === 0x2f /* / */) {
      ANDROID_BRIEF.lastIndex = pos;
      if (ANDROID_BRIEF.test(line)) return LETTERS[line[pos] ?? ''];
    }
    if (pos === start && top) {
      const special = lineStartLevel(line, pos);
      if (special !== undefined) return special;
    }

    let stop = tokenEnd(line, pos, end);
    const level = tokenLevel(line, pos, stop, prefix, prevInteger, top);
    if (level !== undefined) return level;

    const kind = classify(line, pos, stop);
    if (kind === FIELD) {
      // a logfmt field: `level=warn` decides, any other `key=value` is part of the prefix
      const eq = line.indexOf('=', pos);
      if (LEVEL_KEYS.has(line.slice(pos, eq))) return WORDS[unquote(line.slice(eq + 1, stop)).toUpperCase()];
      if (line.charCodeAt(eq + 1) === 0x22 /* " */) stop = tokenEnd(line, closingQuote(line, eq + 1, end) + 1, end);
    } else if (kind === WORD && !(stop - pos <= 4 && TIME_WORDS.has(line.slice(pos, line.charCodeAt(stop - 1) === 0x2c ? stop - 1 : stop)))) {
      // a field name followed by a separator is part of the prefix: `<time> - app.module - INFO - msg`
      const next = skipSpaces(line, stop, end);
      if (!isSeparator(line, next, tokenEnd(line, next, Math.min(end, next + 4)))) return undefined;
    }
    pos = stop;
    prefix++;
    prevInteger = kind === INTEGER;
  }
  return undefined;
}

/** glog / klog, apt (`E: Unable to locate package`) and npm put their level in the first token. */
function lineStartLevel(line: string, pos: number): Level | undefined {
  const c = line[pos];
  if ((c === 'E' || c === 'W') && line.startsWith(': ', pos + 1)) return LETTERS[c];
  if (c === 'I' || c === 'W' || c === 'E' || c === 'F') {
    GLOG.lastIndex = pos;
    if (GLOG.test(line)) return LETTERS[c];
  } else if (c === 'n') {
    NPM.lastIndex = pos;
    const npm = NPM.exec(line)?.[1];
    if (npm !== undefined) return WORDS[npm.replace('!', '').toUpperCase()];
  }
  return undefined;
}

function tokenLevel(
  line: string,
  pos: number,
  stop: number,
  prefix: number,
  prevInteger: boolean,
  top: boolean,
): Level | undefined {
  if (stop - pos === 1) {
    const letter = line[pos] ?? '';
    // logcat threadtime `03-17 16:13:38.811  1702  2395 D Tag: msg`: a letter after date, time, pid, tid
    if (top && prefix >= 3 && prevInteger && line.indexOf(':', stop) >= 0) return LETTERS[letter];
    // `[I 2024-05-07 10:00:00.000 ServerApp]` (Tornado, Jupyter): a letter opening the field
    if (!top && prefix === 0 && isDigit(line.charCodeAt(stop + 1))) return LETTERS[letter];
    return undefined;
  }
  let i = pos;
  // a level word is at most MAX_WORD letters: a longer run of letters is not one (no need to walk it all)
  while (i < stop && i - pos <= MAX_WORD && isLetter(line.charCodeAt(i))) i++;
  const word = i - pos >= 3 && i - pos <= MAX_WORD ? line.slice(pos, i) : '';
  const upper = UPPER_WORDS.get(word);
  const level = upper ?? OTHER_CASE_WORDS.get(word);
  if (level === undefined) {
    // `/x.py:12: UserWarning: msg` (Python's warnings module)
    return line.startsWith('Warning:', stop - 8) && PY_WARNING.test(line.slice(pos, stop)) ? 'WARNING' : undefined;
  }
  const after = i < stop ? line[i] : undefined;
  // `INFO:`, `WARNING:root:msg`, `error: ...` (compilers), `error[E0308]:`, `INFO[0000]` (logrus)
  if (after === ':' || after === '[') return level;
  if (upper === undefined) {
    // a lowercase word bare is a level only as a tab-separated column (zap): "error rate" is prose
    return after === undefined && prefix > 0 && line[stop] === '\t' ? level : undefined;
  }
  // an uppercase word: `2015-10-18 18:01:47,978 INFO [main]`, `| WARNING |`
  return after === undefined || after === '|' || after === '!' ? level : undefined;
}

function jsonLevel(line: string): Level | undefined {
  const match = JSON_LEVEL.exec(line);
  if (match === null) return undefined;
  if (match[1] !== undefined) return WORDS[match[1].toUpperCase()];
  // pino / bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal; other numbers are
  // more likely a nested "level" of something else (a zoom, a compression level) than a severity
  const n = Number(match[2]);
  if (n < 10 || n > 60) return undefined;
  if (n < 30) return 'DEBUG';
  if (n < 40) return 'INFO';
  if (n < 50) return 'WARNING';
  return n < 60 ? 'ERROR' : 'CRITICAL';
}

/** Index of the quote closing the one at `open` (`\"` escapes it), or `end`. */
function closingQuote(line: string, open: number, end: number): number {
  let i = open + 1;
  while (i < end && line.charCodeAt(i) !== 0x22) i += line.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
  return Math.min(i, end);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

const WORD = 0; // letters, no digit: ends the prefix unless a separator follows it
const INTEGER = 1;
const DIGITS = 2; // a timestamp, a version, a file:line, a host1 ...
const SEPARATOR = 3; // `-`, `|`, `::`, `>>`, `--`: short punctuation between fields
const FIELD = 4; // key=value

/** What kind of token line[pos, stop) is, in one pass over its characters. */
function classify(line: string, pos: number, stop: number): number {
  let digits = 0;
  let eq = false;
  for (let i = pos; i < stop; i++) {
    const c = line.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (c === 0x3d /* = */ && i > pos) eq = true;
  }
  if (eq) return FIELD;
  if (digits === stop - pos) return INTEGER;
  if (digits > 0) return DIGITS;
  return isSeparator(line, pos, stop) ? SEPARATOR : WORD;
}

function isSeparator(line: string, pos: number, stop: number): boolean {
  return stop > pos && stop - pos <= 3 && !WORDISH.test(line.slice(pos, stop));
}

function tokenEnd(line: string, pos: number, end: number): number {
  while (pos < end && !isSpace(line.charCodeAt(pos))) pos++;
  return pos;
}

/** Index of the bracket closing the one at `open` (same kind, nested), or -1. */
function closingBracket(line: string, open: number, end: number): number {
  const o = line.charCodeAt(open);
  const c = o === 0x5b ? 0x5d : o === 0x28 ? 0x29 : 0x7d;
  let depth = 0;
  for (let i = open; i < end; i++) {
    const ch = line.charCodeAt(i);
    if (ch === o) depth++;
    else if (ch === c && --depth === 0) return i;
  }
  return -1;
}

/** `[`, `(` or `{`: opens a bracketed field */
function isBracket(c: number): boolean {
  return c === 0x5b || c === 0x28 || c === 0x7b;
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function skipSpaces(line: string, pos: number, end: number): number {
  while (pos < end && isSpace(line.charCodeAt(pos))) pos++;
  return pos;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}
