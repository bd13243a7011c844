import { describe, expect, it } from 'vitest';
import { MAX_SPANS_PER_LINE, plainText, toSpans } from './ansi.ts';
import { matcher } from './filter.ts';

describe('toSpans', () => {
  it('draws a line that changes colour at every character with at most MAX_SPANS_PER_LINE spans, its text whole', () => {
    const spans = toSpans('\x1b[31mx\x1b[32my'.repeat(5_000) + '\u202e end');
    expect(spans.length).toBe(MAX_SPANS_PER_LINE);
    expect(spans[0]).toEqual({ text: 'x', style: { color: 'var(--ansi-1)' } });
    // the rest plain, the bidi control still written out, not applied
    expect(spans.at(-1)?.style).toBeUndefined();
    expect(spans.map((span) => span.text).join('')).toBe('xy'.repeat(5_000) + '<U+202E> end');
  });

  it('colours SGR red with the theme red, and leaves plain text plain', () => {
    expect(toSpans('\x1b[31mred\x1b[0m plain')).toEqual([{ text: 'red', style: { color: 'var(--ansi-1)' } }, { text: ' plain' }]);
  });

  it('keeps 256 and true colours as rgb(), bold and underline as styles', () => {
    const [a, b] = toSpans('\x1b[1;4;38;2;255;0;128mpink\x1b[0m\x1b[38;5;196mx');
    expect(a).toEqual({ text: 'pink', style: { color: 'rgb(255, 0, 128)', fontWeight: 600, textDecoration: 'underline' } });
    expect(b?.style?.color).toMatch(/^rgb\(/);
  });

  it('drops OSC 8 hyperlinks and titles, keeping only the visible text', () => {
    const spans = toSpans('\x1b]8;;javascript:alert(1)\x07click\x1b]8;;\x07 \x1b]0;title\x1b\\end');
    expect(spans.map((span) => span.text).join('')).toBe('click end');
    expect(JSON.stringify(spans)).not.toContain('javascript');
  });

  it('drops cursor moves, erases and stray control characters', () => {
    expect(toSpans('a\x1b[2K\x1b[1Ab\x07c\x1b(Bd\x9be').map((span) => span.text).join('')).toBe('abcde');
  });

  it('keeps the line ends of a multi-line message (an exception sent as one record), with or without colours', () => {
    expect(toSpans('failed\nTraceback (most recent call last):\nKeyError: 1').map((span) => span.text).join('')).toBe('failed\nTraceback (most recent call last):\nKeyError: 1');
    expect(toSpans('\x1b[31mfailed\x1b[0m\r\nKeyError').map((span) => span.text).join('')).toBe('failed\nKeyError');
    expect(plainText('a\nb')).toBe('a\nb');
  });

  it('leaves markup as text (rendering makes it text nodes)', () => {
    expect(toSpans('<script>alert(1)</script>')).toEqual([{ text: '<script>alert(1)</script>' }]);
  });
});

describe('plainText and matcher', () => {
  it('searches without ANSI and case-insensitively, levels this and above', () => {
    expect(plainText('\x1b[31mERROR\x1b[0m disk')).toBe('ERROR disk');
    const match = matcher({ level: 'WARNING', q: 'error disk' });
    expect(match({ level: 'ERROR', message: '\x1b[31mERROR\x1b[0m disk full' })).toBe(true);
    expect(match({ level: 'INFO', message: 'error disk full' })).toBe(false);
    expect(match({ level: 'CRITICAL', message: 'other' })).toBe(false);
  });
});

describe('bidirectional controls', () => {
  it('are written out as their code points, not applied; the text around them is kept', () => {
    const spans = toSpans('user\u202Egpj.exe\u202C \x1b[31mred\u2066x\u2069\x1b[0m');
    expect(spans.map((span) => span.text).join('')).toBe('user<U+202E>gpj.exe<U+202C> red<U+2066>x<U+2069>');
    expect(spans.find((span) => span.text === '<U+202E>')?.control).toBe('RIGHT-TO-LEFT OVERRIDE');
    expect(spans.filter((span) => span.style?.color === 'var(--ansi-1)').map((span) => span.text)).toEqual(['red', 'x']);
    // right-to-left marks stay: they reorder nothing on their own
    expect(toSpans('a\u200Fb')).toEqual([{ text: 'a\u200Fb' }]);
  });
});
