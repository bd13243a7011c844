import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandGlob, globBase, globDirs, globMatches, isGlob } from './glob.js';

describe('globs', () => {
  it('expands *, ? and [...] within segments, files only, sorted, no dot files for *', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-glob-'));
    for (const name of ['a.log', 'b.log', 'c.txt', '.hidden.log', 'a.log.1']) writeFileSync(join(dir, name), '');
    mkdirSync(join(dir, 'run1'));
    mkdirSync(join(dir, 'run2'));
    writeFileSync(join(dir, 'run1', 'out.log'), '');
    writeFileSync(join(dir, 'run2', 'out.log'), '');
    mkdirSync(join(dir, 'dir.log'));
    expect(expandGlob(join(dir, '*.log'))).toEqual([join(dir, 'a.log'), join(dir, 'b.log')]);
    expect(expandGlob(join(dir, '?.log*'))).toEqual([join(dir, 'a.log'), join(dir, 'a.log.1'), join(dir, 'b.log')]);
    expect(expandGlob(join(dir, '[ab].log'))).toEqual([join(dir, 'a.log'), join(dir, 'b.log')]);
    expect(expandGlob(join(dir, 'run*', 'out.log'))).toEqual([join(dir, 'run1', 'out.log'), join(dir, 'run2', 'out.log')]);
    expect(expandGlob(join(dir, 'missing.log'))).toEqual([join(dir, 'missing.log')]);
  });

  it('names the directory to watch: the deepest one without a wildcard', () => {
    expect(isGlob('/x/*.log')).toBe(true);
    expect(isGlob('/x/a.log')).toBe(false);
    expect(globBase('/x/y/*.log')).toBe('/x/y');
    expect(globBase('/x/run*/out.log')).toBe('/x');
    expect(globBase('/x/a.log')).toBe('/x');
  });

  it('tells whether a name matches a pattern, there or not, and lists the directories its files are in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-glob-'));
    mkdirSync(join(dir, 'run1'));
    mkdirSync(join(dir, 'run2'));
    writeFileSync(join(dir, 'runs.txt'), '');
    expect(globMatches(join(dir, '*.log'), join(dir, 'gone.log'))).toBe(true);
    expect(globMatches(join(dir, '*.log'), join(dir, 'gone.log.1'))).toBe(false);
    expect(globMatches(join(dir, '*.log'), join(dir, 'sub', 'a.log'))).toBe(false);
    expect(globMatches(join(dir, 'run*', 'out.log'), join(dir, 'run7', 'out.log'))).toBe(true);
    expect(globMatches(join(dir, 'a.log'), join(dir, 'a.log'))).toBe(true);
    expect(globDirs(join(dir, '*.log'))).toEqual([dir]);
    expect(globDirs(join(dir, 'run*', 'out.log'))).toEqual([join(dir, 'run1'), join(dir, 'run2')]);
  });
});
