import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirectory } from './make-dir.js';

describe('makeDirectory', () => {
  it('makes every missing level, and is quiet for one that exists', () => {
    const root = mkdtempSync(join(tmpdir(), 'runlog-mkdir-'));
    makeDirectory(join(root, 'a', 'b', 'c'), 0o700);
    expect(statSync(join(root, 'a', 'b', 'c')).isDirectory()).toBe(true);
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
    makeDirectory(join(root, 'a', 'b'));
  });

  it('throws for a file in the way, at the folder or above it', () => {
    const root = mkdtempSync(join(tmpdir(), 'runlog-mkdir-'));
    writeFileSync(join(root, 'f'), '');
    expect(() => makeDirectory(join(root, 'f'))).toThrow('ENOTDIR');
    expect(() => makeDirectory(join(root, 'f', 'sub'))).toThrow('ENOTDIR');
  });

  // mkdirSync(…, { recursive: true }) never returns here on Node 20: `run --log-dir /proc/x` hung
  it.runIf(process.platform === 'linux')('throws for a folder /proc takes no new entries in, instead of looping', () => {
    expect(() => makeDirectory('/proc/runlog-x/y')).toThrow('cannot create /proc/runlog-x');
  });
});
