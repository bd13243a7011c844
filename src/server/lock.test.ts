import { existsSync, lstatSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { lockWithPid } from './lock.js';

// a data directory on a full disk: the pid file's write fails with a real ENOSPC (/dev/full)
it('says which lock could not be written on a full disk, and leaves no pid file behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-lock-'));
  const mine = join(dir, `hub.lock.${process.pid}`);
  symlinkSync('/dev/full', mine);
  expect(() => lockWithPid(dir, 'hub.lock', (pid) => new Error(`held by ${pid}`))).toThrow(
    `cannot write the lock file ${join(dir, 'hub.lock')}: no space left on its disk: free some, then start again`,
  );
  expect(existsSync(join(dir, 'hub.lock'))).toBe(false);
  expect(() => lstatSync(mine)).toThrow(/ENOENT/);
  expect(readdirSync(dir)).toEqual([]);
  // space back: the lock is taken
  const lock = lockWithPid(dir, 'hub.lock', (pid) => new Error(`held by ${pid}`));
  expect(readdirSync(dir)).toEqual(['hub.lock']);
  lock.release();
});
