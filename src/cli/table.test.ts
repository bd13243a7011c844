import { describe, expect, it } from 'vitest';
import type { Run } from '../store/store.js';
import { runsTable, startedText } from './commands/runs.js';
import { displayWidth, humanAge, humanDuration, table } from './table.js';

describe('table', () => {
  it('prints stored text (a run\'s name) with no escape sequence or control character, and pads by what is printed', () => {
    const text = table(['ID', 'NAME'], [['r1', '\x1b]0;pwned\x07\x1b[2Jtrain\rnew\x1b[31m!'], ['r22', 'x\ny']]);
    expect(text).toBe('ID   NAME\nr1   trainnew!\nr22  x y\n');
  });

  it('pads and cuts by terminal columns: a wide character counts two, an emoji is never cut in half', () => {
    const text = table(['ID', 'NAME', 'N'], [['日本', '🎉🎉🎉🎉', '1'], ['ab', 'x', '2']], { width: 13, shrink: [{ column: 1, min: 4 }] });
    expect(text).toBe('ID    NAME  N\n日本  🎉…   1\nab    x     2\n');
    for (const line of text.trimEnd().split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(13);
  });

  it('caps a column at its max with … even into a pipe (no width)', () => {
    expect(table(['A', 'B'], [['1', 'abcdefgh']], { shrink: [{ column: 1, min: 3, max: 5 }] })).toBe('A  B\n1  abcd…\n');
  });
});

const run = (over: Partial<Run>): Run =>
  ({ id: 'r-mx7y5oib-242d4dc5', status: 'completed', exit_code: 0, signal: null, duration_seconds: 0.24, line_count: 7, started_at: '2026-12-03T19:27:42.123456Z', name: null, command: 'python3 train.py', ...over }) as Run;

describe('runsTable', () => {
  const runs = [
    run({}),
    run({ id: 'x'.repeat(128), name: 'a very long descriptive experiment name for the ablation study number seven', duration_seconds: 7384 }),
    run({ id: 'q-1', status: 'running', exit_code: null, duration_seconds: null, name: '日本語の名前🎉 with emoji' }),
  ];

  it('fits an 80-column terminal: names and long ids cut with …, a generated id whole, STARTED without its year', () => {
    const text = runsTable(runs, 80);
    const lines = text.trimEnd().split('\n');
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    expect(lines[1]).toMatch(/^r-mx7y5oib-242d4dc5 +completed +0 +0\.2s +7 +12-03 19:27 +python3 tra…$/);
    expect(lines[2]).toMatch(/^x{18}… +completed +0 +2h03m /);
    expect(lines[3]).toMatch(/^q-1 +running +- +- +7 +\d\d-\d\d \d\d:\d\d +日本語の名…$/);
  });

  it('into a pipe: every id whole, the name cut at 60, the full start time', () => {
    const lines = runsTable(runs, undefined).trimEnd().split('\n');
    expect(lines[2]).toContain(`${'x'.repeat(128)}  completed`);
    expect(lines[2]).toContain('2026-12-03 19:27:42  a very long descriptive experiment name for the ablation st…');
    expect(startedText(null)).toBe('-');
  });
});

describe('durations and ages', () => {
  it('reads as a person would', () => {
    expect([0.24, 59.94, 59.96, 60, 754, 3600, 7384, 86_400 * 3 + 3600 * 4].map(humanDuration)).toEqual(['0.2s', '59.9s', '1m00s', '1m00s', '12m34s', '1h00m', '2h03m', '3d04h']);
    expect([0.4, 59, 329, 7200, 86_400 * 2].map(humanAge)).toEqual(['0s ago', '59s ago', '5m ago', '2h ago', '2d ago']);
  });
});
