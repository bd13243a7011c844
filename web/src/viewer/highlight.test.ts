import { describe, expect, it } from 'vitest';
import { toSpans } from './ansi.ts';
import { MAX_MARKS_PER_LINE, markMatches } from './highlight.ts';

const marked = (message: string, needle: string) =>
  markMatches(toSpans(message), needle).map((span) => (span.mark ? `[${span.text}]` : span.text)).join('');

describe('markMatches', () => {
  it('marks every occurrence, case-insensitively', () => {
    expect(marked('Error: an error again ERROR', 'error')).toBe('[Error]: an [error] again [ERROR]');
  });

  it('marks across ANSI colour changes and keeps each piece its style', () => {
    const spans = markMatches(toSpans('loss \x1b[31mNa\x1b[0mN here'), 'nan');
    expect(spans.map((span) => [span.text, span.mark === true, span.style?.color !== undefined])).toEqual([
      ['loss ', false, false],
      ['Na', true, true],
      ['N', true, false],
      [' here', false, false],
    ]);
  });

  it('leaves lines without a match, and an empty search, as they are', () => {
    expect(marked('nothing to see', 'zzz')).toBe('nothing to see');
    expect(marked('nothing to see', '')).toBe('nothing to see');
  });

  it('does not overlap matches', () => {
    expect(marked('aaaa', 'aa')).toBe('[aa][aa]');
  });

  it('marks at most MAX_MARKS_PER_LINE matches in a line, and keeps all of its text', () => {
    const line = 'ab'.repeat(30_000);
    const spans = markMatches(toSpans(line), 'ab');
    expect(spans.filter((span) => span.mark).length).toBe(MAX_MARKS_PER_LINE);
    expect(spans.map((span) => span.text).join('')).toBe(line);
    // the rest of the line is one piece, not a piece per match
    expect(spans.length).toBe(MAX_MARKS_PER_LINE + 1);
  });
});
