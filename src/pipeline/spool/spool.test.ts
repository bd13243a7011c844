import { appendFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Spool } from './spool.js';

const dir = () => mkdtempSync(join(tmpdir(), 'runlog-spool-'));

describe('Spool', () => {
  it('gives items back in order, removes them once committed, and the file once drained', () => {
    const spool = new Spool<{ n: number }>(dir(), 's');
    spool.append([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const first = spool.peek(2);
    expect(first.items).toEqual([{ n: 1 }, { n: 2 }]);
    spool.commit(first.next, 2);
    expect(spool.size).toBe(1);
    expect(spool.drain()).toEqual([{ n: 3 }]);
    expect(existsSync(spool.file)).toBe(false);
  });

  it('drops the oldest items past its bound and counts what they weighed', () => {
    const spool = new Spool<{ lines: number[] }>(dir(), 's', 60, (item) => item.lines.length);
    for (let i = 0; i < 5; i++) spool.append([{ lines: [i, i, i] }]);
    expect(spool.bytes).toBeLessThanOrEqual(60);
    expect(spool.drain().map((item) => item.lines[0])).toEqual([2, 3, 4]);
    expect(spool.dropped).toBe(6);
  });

  it('picks up what an earlier process left, skipping a line cut by a crash', () => {
    const where = dir();
    const before = new Spool<{ n: number }>(where, 's');
    before.append([{ n: 1 }, { n: 2 }]);
    appendFileSync(before.file, '{"n": 3'); // the process died in the middle of a write
    const after = new Spool<{ n: number }>(where, 's');
    expect(after.size).toBe(2);
    after.append([{ n: 4 }]);
    expect(after.drain()).toEqual([{ n: 1 }, { n: 2 }, { n: 4 }]);
  });
});
