/**
 * Stored text made safe to print on a terminal (issue 8, "The terminal").
 *
 * A stored line is whatever a job, or anyone who could post to the hub, sent. Printed verbatim it
 * could write the clipboard (OSC 52), set the window title (OSC 0/2), move the cursor and erase
 * lines or the screen (CSI), or hide text with a lone carriage return or backspace. So:
 *
 * - with `colour` (a terminal): SGR sequences (`ESC [ digits ; : m`, colours and text styles) are
 *   kept whole, except one that conceals text (SGR 8); every other escape sequence is dropped
 *   whole: CSI with any other final byte or private parameters, OSC (to BEL or ST, or the end),
 *   DCS, SOS, PM and APC strings (to ST, or the end), and two-byte escapes (`ESC 7`, `ESC c`, `ESC ( B`);
 * - without `colour` (a pipe, a file): SGR goes too;
 * - always: C1 controls (U+0080–U+009F, their 8-bit CSI/OSC/DCS forms parsed like the 7-bit ones
 *   and dropped the same way), and C0 controls and DEL except tab and line feed, `\r` and `\b`
 *   included. A line feed stays: a message may hold several lines (an exception sent as one
 *   record), and a new line can only add below, never overwrite or hide what came before;
 * - always: a bidirectional control (U+202A–202E, U+2066–2069) is written out as its code point,
 *   `<U+202E>`, as the web UI shows it: applied by a terminal that does bidi, it shows a line's
 *   text (a run name in a table, `gpj.exe`) in another order than it holds.
 *
 * What comes out contains ESC only as the start of a complete SGR sequence this function wrote,
 * and no control character but tab and line feed: dropping a piece never splices a new sequence.
 * A line whose last kept SGR leaves a colour or a style on gets a reset (SGR 0) at its end, so
 * what it turned on stops with it.
 */

const ESC = 0x1b;
const BEL = 0x07;
const TAB = 0x09;
const LF = 0x0a;
const RESET = '\x1b[0m';
/** an SGR that turns every colour and style off: what a line may end its colours with */
const RESETS = /^\x1b\[(0*;)*0*m$/;
/** an SGR longer than this is not colour: 38;2;r;g;b five times over is 60 */
const MAX_SGR_PARAMS = 64;

/** 8-bit C1 introducers and the 7-bit byte that follows ESC for the same sequence */
const C1_AS_ESC: Readonly<Record<number, number>> = { 0x9b: 0x5b, 0x9d: 0x5d, 0x90: 0x50, 0x98: 0x58, 0x9e: 0x5e, 0x9f: 0x5f };

/** nothing to do for most lines: no control character but tab and line feed, no bidi control */
const SPECIAL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
/** the bidirectional controls that reorder text (the marks U+200E/U+200F reorder nothing past a neutral) */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
/** what JSON.stringify leaves raw that a terminal acts on: C1 controls (0x9B is CSI), bidi controls, line separators */
const JSON_RAW = /[\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export interface TerminalOptions {
  /** keep SGR colours and styles (a terminal) or not (a pipe, a file) */
  colour: boolean;
  /** leave bidi controls as they are: for text that goes to a file, not to a terminal (format.ts) */
  keepBidi?: boolean;
}

export function terminalSafe(text: string, { colour, keepBidi = false }: TerminalOptions): string {
  if (!SPECIAL.test(text)) return text;
  let out = '';
  let coloured = false;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === ESC || C1_AS_ESC[code] !== undefined) {
      const kind = code === ESC ? text.charCodeAt(i + 1) : (C1_AS_ESC[code] as number);
      const start = code === ESC ? i + 2 : i + 1; // first byte after the introducer
      if (code === ESC && Number.isNaN(kind)) break; // a lone ESC at the end
      if (kind === 0x5b) {
        const end = csiEnd(text, start);
        // keep only a 7-bit SGR, and only for a terminal
        if (colour && code === ESC && end.ok && text.charCodeAt(end.at - 1) === 0x6d) {
          const kept = sgr(text.slice(start, end.at - 1));
          out += kept;
          if (kept !== '') coloured = !RESETS.test(kept);
        }
        i = end.at;
      } else if (kind === 0x5d) {
        i = stringEnd(text, start, true);
      } else if (kind === 0x50 || kind === 0x58 || kind === 0x5e || kind === 0x5f) {
        i = stringEnd(text, start, false);
      } else if (code === ESC) {
        i = shortEscapeEnd(text, i + 1);
      } else {
        i++;
      }
      continue;
    }
    if (code === TAB || code === LF || !(code < 0x20 || (code >= 0x7f && code <= 0x9f))) {
      // copy the run of ordinary characters up to the next control at once
      let next = i + 1;
      while (next < text.length) {
        const c = text.charCodeAt(next);
        if (c !== TAB && c !== LF && (c < 0x20 || (c >= 0x7f && c <= 0x9f))) break;
        next++;
      }
      out += text.slice(i, next);
      i = next;
      continue;
    }
    i++; // any other control character: dropped
  }
  if (!keepBidi) out = out.replace(BIDI_CONTROLS, (control) => `<U+${control.charCodeAt(0).toString(16).toUpperCase()}>`);
  // a colour the line leaves on would paint the lines after it, and the shell's prompt (`coloured`:
  // the last SGR kept is not a reset)
  return coloured ? `${out}${RESET}` : out;
}

/**
 * A value as one line of JSON for `--json` output: JSON.stringify escapes C0 controls but writes
 * C1 controls (U+009B is an 8-bit CSI to a terminal) and bidi controls raw; here they are `\u`
 * escapes too, so nothing stored reaches the terminal raw, and a JSON parser reads the same value.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_RAW, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Where a CSI sequence that starts its parameters at `from` ends: parameter bytes 0x30–0x3F,
 * intermediates 0x20–0x2F, one final byte 0x40–0x7E. `ok` is false when another byte cuts it short
 * (the sequence is dropped up to that byte, which is then read as text or control).
 */
function csiEnd(text: string, from: number): { at: number; ok: boolean } {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c >= 0x40 && c <= 0x7e) return { at: i + 1, ok: true };
    if (c < 0x20 || c > 0x3f) return { at: i, ok: false };
    i++;
  }
  return { at: i, ok: false };
}

/** The SGR to write for these parameters: as it was when it is only colour and style, else nothing. */
function sgr(params: string): string {
  if (params.length > MAX_SGR_PARAMS || !/^[\d;:]*$/.test(params)) return '';
  if (concealsText(params)) return '';
  return `\x1b[${params}m`;
}

/** SGR 8 (conceal) makes the text after it invisible; 38/48/58 take colour arguments that may be 8. */
function concealsText(params: string): boolean {
  const fields = params.split(';');
  for (let k = 0; k < fields.length; k++) {
    const field = fields[k] as string;
    const head = field.split(':')[0];
    if (head === '38' || head === '48' || head === '58') {
      if (field.includes(':')) continue; // 38:5:n, 38:2::r:g:b carry their arguments inside
      const mode = fields[k + 1];
      k += mode === '5' ? 2 : mode === '2' ? 4 : 1;
      continue;
    }
    if (head === '8') return true;
  }
  return false;
}

/** Past an OSC (`bel`: BEL ends it too) or a DCS/SOS/PM/APC string: to ST (ESC \ or 0x9C), or the end. */
function stringEnd(text: string, from: number, bel: boolean): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((bel && c === BEL) || c === 0x9c) return i + 1;
    if (c === ESC && text.charCodeAt(i + 1) === 0x5c) return i + 2;
  }
  return text.length;
}

/** Past ESC, intermediates 0x20–0x2F, and a final byte 0x30–0x7E (`ESC 7`, `ESC ( B`, `ESC c`). */
function shortEscapeEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0x2f) {
      i++;
      continue;
    }
    return c >= 0x30 && c <= 0x7e ? i + 1 : i;
  }
  return i;
}

/**
 * Whether stored lines keep their colours on stdout: only on a terminal, and not when the user
 * asked for none with `NO_COLOR` (https://no-color.org: set and not empty).
 */
export function colourOnStdout(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.stdout.isTTY === true && !env.NO_COLOR;
}
