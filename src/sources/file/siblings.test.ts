import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { bornRotatedSince, fileKey, rotatedKeys, rotatedNew } from './siblings.js';

it('takes a rotated copy on an inode a known copy had (reused) for a new one, and a known one for known', (context) => {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-siblings-'));
  const name = join(dir, 'app.log');
  writeFileSync(name, '');
  writeFileSync(`${name}.1`, 'line 1\n');
  const old = statSync(`${name}.1`);
  // the siblings a checkpoint noted: this one, as it is
  const known = rotatedKeys(name);
  expect(rotatedNew(name, known).added).toEqual([]);
  // a checkpoint of an older release (dev:ino only): known, as it was then
  expect(rotatedNew(name, new Set([fileKey(old)])).added).toEqual([]);
  // rotated on while nobody looked: the copy deleted, a new one made on its inode (ext4 hands a
  // freed inode out again at once; a file system that does not cannot show this)
  let reused = false;
  for (let attempt = 0; attempt < 20 && !reused; attempt++) {
    rmSync(`${name}.1`);
    writeFileSync(`${name}.1`, `line ${attempt + 2}\n`);
    reused = statSync(`${name}.1`).ino === old.ino;
  }
  if (!reused || old.birthtimeMs === 0) return context.skip();
  expect(rotatedNew(name, known).added).toEqual([`${name}.1`]);
});

it('finds the files born since a time named as rotated copies of names a glob matches, not the ones it matches or older ones', async (context) => {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-siblings-'));
  writeFileSync(join(dir, 'old.log.1'), 'before\n');
  const since = statSync(join(dir, 'old.log.1')).birthtimeMs;
  if (since === 0) return context.skip(); // no birth times on this file system
  await new Promise((resolve) => setTimeout(resolve, 20)); // a birth time after `since`
  for (const name of ['app.log', 'app.log.1', 'app.log-20261203', 'app.log.2.gz', 'notes.txt', 'app.txt.1']) writeFileSync(join(dir, name), 'x\n');
  expect(bornRotatedSince([join(dir, '*.log')], since).sort()).toEqual([join(dir, 'app.log-20261203'), join(dir, 'app.log.1')]);
  expect(bornRotatedSince([join(dir, 'app.log*')], since)).toEqual([]);
});
