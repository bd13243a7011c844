/**
 * ANSI → styled text nodes, and nothing else (issue 4, "Safety").
 *
 * Only SGR (colours, bold, dim, italic, underline, strikethrough, reverse) is interpreted, by anser
 * (its JSON output: spans of plain text with their style). Every other escape sequence is dropped
 * before or after it: OSC (which carries hyperlinks `ESC]8;;url BEL`, window titles), other CSI
 * (cursor moves, erase), two-byte escapes, and any control character left over. Text always
 * becomes Preact text nodes, which escape it: a line never becomes markup, and never a link.
 */
import Anser from 'anser';
import type { JSX } from 'preact';

export interface Span {
  text: string;
  style?: JSX.CSSProperties;
  /** a bidirectional control's name: `text` is its code point written out (`<U+202E>`), shown, not applied */
  control?: string;
}

// OSC: ESC ] … terminated by BEL or ST (ESC \), or cut off by the end of the line
const OSC = /\x1b\](?:[^\x07\x1b]|\x1b(?!\\))*(?:\x07|\x1b\\|$)/g;
// DCS, SOS, PM, APC strings: ESC P|X|^|_ … ST
const STRING_SEQ = /\x1b[PX^_](?:[^\x1b]|\x1b(?!\\))*(?:\x1b\\|$)/g;
// two- and three-byte escapes that are not CSI (charset selection ESC ( B, keypad modes ESC =, …)
const SHORT_ESC = /\x1b(?:[ -/]+[0-~]?|[0-Z\\-~])/g;
// whatever control characters remain, C1 included; tab stays, and so does a line end: a message
// may hold several lines (a Python exception sent as one record), shown as such (issue 11)
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// bidirectional embeddings, overrides and isolates: drawn as the browser applies them, they show
// a line's text in another order than the one it holds (`user\u202Egpj.exe` reads "userexe.jpg",
// "Trojan Source"), so each is shown as its code point instead (as editors and GitHub do); the
// marks (U+200E, U+200F), which reorder nothing past a neutral, stay for right-to-left text
const BIDI_CONTROL = /([\u202a-\u202e\u2066-\u2069])/;
const BIDI_NAMES: Record<string, string> = {
  '\u202a': 'LEFT-TO-RIGHT EMBEDDING',
  '\u202b': 'RIGHT-TO-LEFT EMBEDDING',
  '\u202c': 'POP DIRECTIONAL FORMATTING',
  '\u202d': 'LEFT-TO-RIGHT OVERRIDE',
  '\u202e': 'RIGHT-TO-LEFT OVERRIDE',
  '\u2066': 'LEFT-TO-RIGHT ISOLATE',
  '\u2067': 'RIGHT-TO-LEFT ISOLATE',
  '\u2068': 'FIRST STRONG ISOLATE',
  '\u2069': 'POP DIRECTIONAL ISOLATE',
};
/** whether a message needs parsing at all: most lines have no escape, control character or bidi control */
export const HAS_SPECIAL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/** anser's colours for the 16 basic ones, mapped to theme variables so both themes stay legible */
const BASIC: Record<string, string> = {
  '0, 0, 0': 'var(--ansi-0)',
  '187, 0, 0': 'var(--ansi-1)',
  '0, 187, 0': 'var(--ansi-2)',
  '187, 187, 0': 'var(--ansi-3)',
  '0, 0, 187': 'var(--ansi-4)',
  '187, 0, 187': 'var(--ansi-5)',
  '0, 187, 187': 'var(--ansi-6)',
  '255,255,255': 'var(--ansi-7)',
  '85, 85, 85': 'var(--ansi-8)',
  '255, 85, 85': 'var(--ansi-9)',
  '0, 255, 0': 'var(--ansi-10)',
  '255, 255, 85': 'var(--ansi-11)',
  '85, 85, 255': 'var(--ansi-12)',
  '255, 85, 255': 'var(--ansi-13)',
  '85, 255, 255': 'var(--ansi-14)',
  '255, 255, 255': 'var(--ansi-15)',
};

function colour(value: string | null): string | undefined {
  if (value === null || value === '') return undefined;
  // anser gives "r, g, b" digits only; anything else is not a colour we emit
  if (!/^[\d, ]+$/.test(value)) return undefined;
  return BASIC[value] ?? `rgb(${value})`;
}

/**
 * Text shown as plain text (a tooltip, a run's name or command): each bidirectional control
 * written out as its code point (`<U+202E>`), as the log lines show them, so none reorders it.
 */
export function visibleBidi(text: string): string {
  return text.replace(BIDI_CONTROLS, (control) => `<U+${control.charCodeAt(0).toString(16).toUpperCase()}>`);
}
const BIDI_CONTROLS = new RegExp(BIDI_CONTROL.source, 'g');

/** The message without any escape sequence or control character: for search, copy, titles. */
export function plainText(message: string): string {
  if (!HAS_SPECIAL.test(message)) return message;
  return Anser.ansiToText(stripNonSgr(message)).replace(CONTROL, '');
}

function stripNonSgr(message: string): string {
  return message.replace(OSC, '').replace(STRING_SEQ, '').replace(SHORT_ESC, '');
}

/**
 * The most spans a line is drawn with. A line can change style thousands of times (a colour per
 * character: `\x1b[31mx\x1b[32my…`), each change an element: a screen of such lines took seconds
 * and the Logs page's 200 results tens of seconds. Past this, the rest of the line is plain text
 * (its escapes still dropped, a bidi control still written out).
 */
export const MAX_SPANS_PER_LINE = 500;

export function toSpans(message: string): Span[] {
  const spans = styledSpans(message);
  if (spans.length <= MAX_SPANS_PER_LINE) return spans;
  const rest = spans.slice(MAX_SPANS_PER_LINE - 1).map((span) => span.text).join('');
  return [...spans.slice(0, MAX_SPANS_PER_LINE - 1), { text: rest }];
}

function styledSpans(message: string): Span[] {
  // most lines have no escape at all: one plain span, no parsing
  if (!HAS_SPECIAL.test(message)) return [{ text: message }];
  const spans: Span[] = [];
  for (const entry of Anser.ansiToJson(stripNonSgr(message), { json: true, remove_empty: true })) {
    const text = entry.content.replace(CONTROL, '');
    if (text === '') continue;
    const style: JSX.CSSProperties = {};
    const fg = colour(entry.fg);
    const bg = colour(entry.bg);
    if (fg !== undefined) style.color = fg;
    if (bg !== undefined) style.backgroundColor = bg;
    const lines: string[] = [];
    for (const decoration of entry.decorations) {
      if (decoration === 'bold') style.fontWeight = 600;
      else if (decoration === 'dim') style.opacity = 0.65;
      else if (decoration === 'italic') style.fontStyle = 'italic';
      else if (decoration === 'underline') lines.push('underline');
      else if (decoration === 'strikethrough') lines.push('line-through');
      else if (decoration === 'hidden') style.visibility = 'hidden';
    }
    if (lines.length > 0) style.textDecoration = lines.join(' ');
    const styled = Object.keys(style).length > 0;
    // split at each bidi control (the capture keeps them, at odd indices)
    for (const [index, piece] of text.split(BIDI_CONTROL).entries()) {
      if (index % 2 === 1) {
        const code = `<U+${piece.codePointAt(0)!.toString(16).toUpperCase()}>`;
        spans.push({ text: code, control: BIDI_NAMES[piece] ?? 'bidirectional control' });
      } else if (piece !== '') spans.push(styled ? { text: piece, style } : { text: piece });
    }
  }
  return spans;
}
