import { describe, expect, it } from 'vitest';
import { ProgressCollapser } from './progress.js';

function collapse(events: ([ 'bar' | 'line', string ])[]): [string, boolean][] {
  const stored: [string, boolean][] = [];
  const collapser = new ProgressCollapser((text, _truncated, wasProgress) => stored.push([text, wasProgress]));
  for (const [kind, text] of events) {
    if (kind === 'bar') collapser.progress(text, false);
    else collapser.line(text, false);
  }
  collapser.end();
  return stored;
}

describe('ProgressCollapser', () => {
  it('stores only the final line of a tqdm bar that ends with a covering line', () => {
    const events: ['bar' | 'line', string][] = [];
    for (let i = 0; i < 100; i++) events.push(['bar', `${String(i).padStart(3)}%|#   | ${i}/100`]);
    events.push(['line', '100%|####| 100/100']);
    expect(collapse(events)).toEqual([['100%|####| 100/100', false]]);
  });

  it('keeps the last bar state when an empty line ends it (\\r\\r\\n)', () => {
    expect(collapse([['bar', "Cloning into '.'..."], ['line', '']])).toEqual([["Cloning into '.'...", true]]);
  });

  it('keeps the last bar state before a shorter line that would not cover it', () => {
    expect(collapse([['bar', 'Downloading 45%'], ['line', 'done']])).toEqual([
      ['Downloading 45%', true],
      ['done', false],
    ]);
  });

  it('keeps a bar still showing at end of input', () => {
    expect(collapse([['bar', ' 10%'], ['bar', ' 20%']])).toEqual([[' 20%', true]]);
  });

  it('ignores updates that show nothing (escape codes, spaces)', () => {
    expect(collapse([['bar', '\x1b[1A\x1b[2K'], ['line', 'next']])).toEqual([['next', false]]);
  });
});
