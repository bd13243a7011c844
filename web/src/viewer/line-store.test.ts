import { describe, expect, it } from 'vitest';
import type { LogLine } from '../api/types.ts';
import { LineStore } from './line-store.ts';
import { RecentLines } from './recent.ts';

const line = (seq: number): LogLine => ({ seq, timestamp: '2026-01-01T00:00:00Z', level: 'INFO', message: `line ${seq}` });
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => line(from + index));

describe('LineStore', () => {
  it('appends only lines past hi, so a line seen twice is kept once', () => {
    const store = new LineStore(100);
    store.reset(lines(1, 10), 0, 10);
    expect(store.append(lines(8, 12), 12)).toBe(2);
    expect(store.lines.map((l) => l.seq)).toEqual(lines(1, 12).map((l) => l.seq));
    expect(store.hi).toBe(12);
  });

  it('prepends a page before lo and moves lo to what is still missing', () => {
    const store = new LineStore(100);
    store.reset(lines(51, 60), 50, 60);
    expect(store.prepend(lines(41, 50), 40)).toBe(10);
    expect(store.firstSeq).toBe(41);
    expect(store.lo).toBe(40);
  });

  it('drops past the cap from the end far from the screen, and says where the gap is', () => {
    const store = new LineStore(10);
    store.reset(lines(1, 15), 0, 15);
    expect(store.trim(14)).toBe('top'); // looking at the bottom: the oldest go
    expect(store.lines.map((l) => l.seq)).toEqual(lines(6, 15).map((l) => l.seq));
    expect(store.lo).toBe(5);
    expect(store.dropped).toBe(5);

    const other = new LineStore(10);
    other.reset(lines(1, 15), 0, 15);
    expect(other.trim(0)).toBe('bottom'); // looking at the top: the newest go
    expect(other.hi).toBe(10);
    expect(other.lastSeq).toBe(10);
  });

  it('trims to a smaller cap when asked (following keeps fewer lines)', () => {
    const store = new LineStore(10);
    store.reset(lines(1, 8), 0, 8);
    expect(store.trim(7)).toBe(null); // under the store's own cap
    expect(store.trim(7, 3)).toBe('top');
    expect(store.lines.map((l) => l.seq)).toEqual([6, 7, 8]);
    expect(store.lo).toBe(5);
    expect(store.dropped).toBe(5);
  });

  it('finds a line by seq with gaps in between (a level filter)', () => {
    const store = new LineStore(100);
    store.reset([line(3), line(7), line(20)], 0, 25);
    expect(store.indexOf(7)).toBe(1);
    expect(store.indexOf(8)).toBe(-1);
  });
});

describe('RecentLines', () => {
  it('gives the lines after a seq, and says when it no longer has them all', () => {
    const recent = new RecentLines(5);
    recent.reset(100);
    for (const l of lines(101, 120)) recent.push(l);
    expect(recent.to).toBe(120);
    expect(recent.covers(100)).toBe(false); // it compacted: 101… are gone
    expect(recent.covers(118)).toBe(true);
    expect(recent.after(117).map((l) => l.seq)).toEqual([118, 119, 120]);
  });
});
