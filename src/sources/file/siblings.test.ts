import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fileKey, rotatedKeys, rotatedNotIn } from './siblings.js';

it('takes a rotated copy on an inode a known copy had (reused) for a new one, and a known one for known', (context) => {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-siblings-'));
  const name = join(dir, 'app.log');
  writeFileSync(name, '');
  writeFileSync(`${name}.1`, 'line 1\n');
  const old = statSync(`${name}.1`);
  // the siblings a checkpoint noted: this one, as it is
  const known = rotatedKeys(name);
  expect(rotatedNotIn(name, known)).toEqual([]);
  // a checkpoint of an older release (dev:ino only): known, as it was then
  expect(rotatedNotIn(name, new Set([fileKey(old)]))).toEqual([]);
  // rotated on while nobody looked: the copy deleted, a new one made on its inode (ext4 hands a
  // freed inode out again at once; a file system that does not cannot show this)
  let reused = false;
  for (let attempt = 0; attempt < 20 && !reused; attempt++) {
    rmSync(`${name}.1`);
    writeFileSync(`${name}.1`, `line ${attempt + 2}\n`);
    reused = statSync(`${name}.1`).ino === old.ino;
  }
  if (!reused || old.birthtimeMs === 0) return context.skip();
  expect(rotatedNotIn(name, known)).toEqual([`${name}.1`]);
});
