import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { bornRotatedSince, fileKey, olderFirst, rotatedKeys, rotatedNew, rotatedSince } from './siblings.js';

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

it('lists copies written in the same tick oldest first: the one made first, then the higher rotation number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-siblings-'));
  const name = join(dir, 'app.log');
  writeFileSync(name, '');
  // a rotation keeping nine: app.log.9 made first; every copy last written in the same tick (a
  // file system stamps files with a coarse clock), so the listing's own order (hash order on ext4,
  // newest first on tmpfs) must not decide
  const copies = [9, 8, 7, 6, 5, 4, 3, 2, 1].map((n) => `${name}.${n}`);
  for (const copy of copies) writeFileSync(copy, `${copy}\n`);
  const tick = new Date('2026-12-03T10:00:00Z');
  for (const copy of copies) utimesSync(copy, tick, tick);
  expect(rotatedNew(name, new Set()).added).toEqual(copies);
  expect(rotatedSince(name, statSync(`${name}.5`))).toEqual(copies.slice(5));
  expect(bornRotatedSince([join(dir, '*.log')], 0)).toEqual(statSync(name).birthtimeMs > 0 ? copies : []);
});

it('orders two copies alike in times by birth, then by name: a rotation count counts up with age, a date sorts as text', () => {
  const at = (mtimeMs: number, birthtimeMs: number) => ({ mtimeMs, birthtimeMs });
  const order = (...paths: [string, { mtimeMs: number; birthtimeMs: number }][]) =>
    paths
      .map(([path, stats]) => ({ path, stats }))
      .sort(olderFirst)
      .map(({ path }) => path);
  expect(order(['app.log.1', at(5, 1)], ['app.log.2', at(4, 3)])).toEqual(['app.log.2', 'app.log.1']); // written last: newest
  expect(order(['app.log.2', at(5, 3)], ['app.log.1', at(5, 2)])).toEqual(['app.log.1', 'app.log.2']); // made first: oldest
  expect(order(['app.log.1', at(5, 2)], ['app.log.10', at(5, 2)], ['app.log.2', at(5, 2)])).toEqual(['app.log.10', 'app.log.2', 'app.log.1']);
  expect(order(['app.log.1', at(5, 0)], ['app.log.2', at(5, 2)])).toEqual(['app.log.2', 'app.log.1']); // no birth time: by name
  expect(order(['app.log-20261202', at(5, 2)], ['app.log-20261201', at(5, 2)])).toEqual(['app.log-20261201', 'app.log-20261202']);
});
