/**
 * `runlog follow` stopped while its file was empty, then the file rotated three times (a rotation
 * keeping app.log.1 and app.log.2): ext4 hands the freed inode numbers out again, so app.log,
 * app.log.1 and app.log.2 end up on the very inodes they had when the follower stopped. The
 * copies made meanwhile were known by inode only, taken for the ones noted then, and never read:
 * every line of them was lost without a word.
 */
import { appendFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cli, hubOn, tempDir } from './helpers.js';

let hub: RunningHub;
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterAll(async () => {
  await hub?.close();
});

it('reads the copies rotated while it was stopped even on the inodes the copies it knew had', async (context) => {
  const dir = tempDir();
  const log = join(dir, 'app.log');
  const data = join(dir, 'data');
  writeFileSync(`${log}.2`, 'old 2\n');
  writeFileSync(`${log}.1`, 'old 1\n');
  writeFileSync(log, '');
  const inodes = () => [log, `${log}.1`, `${log}.2`].map((path) => statSync(path).ino);
  const before = inodes();
  const follow = ['follow', log, '--run', 'reuse', '--hub', hub.url, '--data', data, '--until-idle', '1s'];
  expect((await cli(follow)).code).toBe(0);
  const kept: string[] = [];
  for (const round of [1, 2, 3]) {
    const lines = Array.from({ length: 20 }, (_, i) => `round ${round} line ${i + 1}`);
    appendFileSync(log, lines.map((line) => `${line}\n`).join(''));
    if (round > 1) kept.push(...lines); // round 1's copy is rotated out of app.log.2 before anyone looks
    rmSync(`${log}.2`);
    renameSync(`${log}.1`, `${log}.2`);
    renameSync(log, `${log}.1`);
    writeFileSync(log, '');
  }
  // a file system that does not hand inodes out again cannot show this
  if (inodes().join() !== before.join()) return context.skip();
  expect((await cli(follow)).code).toBe(0);
  const response = await fetch(`${hub.url}/api/runs/reuse/logs?limit=1000`);
  const { logs } = (await response.json()) as { logs: { source: string; message: string }[] };
  expect(logs.filter((line) => line.source === 'file').map((line) => line.message)).toEqual(kept);
});
