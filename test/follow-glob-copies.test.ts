/**
 * `runlog follow 'logs/app.log*'` follows app.log and its rotated copies as files of their own.
 * With copytruncate (cp, then the file truncated), each copy is a new file under the glob holding
 * bytes already read through app.log, and the truncation reads its rest from the copy: the copy
 * followed from its start sent every line of it again (all 300 lines twice here). A copy seen
 * before the truncation (cp, a pause, the truncate) and one seen only after it must both come once.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cliKilledAfterEach, hubOn, runRecords, tempDir, waitFor } from './helpers.js';

const cli = cliKilledAfterEach();

let hub: RunningHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** logrotate's copytruncate with `rotate 3`: app.log.2 → .3, .1 → .2, cp app.log app.log.1, truncate */
async function copytruncate(log: string, pauseMs: number): Promise<void> {
  for (const n of [2, 1]) if (existsSync(`${log}.${n}`)) renameSync(`${log}.${n}`, `${log}.${n + 1}`);
  expect(spawnSync('cp', [log, `${log}.1`]).status).toBe(0);
  await sleep(pauseMs); // a follower's look or two while the copy is there and the file still whole
  truncateSync(log, 0);
}

it('ships each line once, in order, through copytruncate rotations when the glob matches the copies too', async () => {
  hub = await hubOn(tempDir());
  const dir = tempDir();
  const data = tempDir();
  const log = join(dir, 'app.log');
  writeFileSync(log, '');
  const run = 'glob-copies';
  const follower = cli(['follow', join(dir, 'app.log*'), '--hub', hub.url, '--data', data, '--run', run, '--poll', '100ms', '--partial-timeout', '300ms']);
  const lock = join(data, 'follow', `${run}.lock`);
  // the lock names the follower's pid once it is up (its signal handlers in)
  await waitFor(() => (existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(follower.child.pid)) || undefined, 60_000, 'the follower');
  const expected = Array.from({ length: 300 }, (_, i) => `line ${i + 1}`);
  for (const [i, line] of expected.entries()) {
    appendFileSync(log, `${line}\n`);
    // every 60 lines; the copy seen before the truncation every other time
    if ((i + 1) % 60 === 0) await copytruncate(log, (i + 1) % 120 === 0 ? 400 : 0);
    await sleep(5);
  }
  const lines = async () => (await runRecords(hub!.url, run)).filter((r) => r.source === 'file').map((r) => r.message);
  await waitFor(async () => ((await lines()).length >= expected.length ? true : undefined), 60_000, `${expected.length} lines`);
  await sleep(1000); // a few more looks must not read a copy again
  follower.child.kill('SIGTERM');
  expect((await follower).code).toBe(0);
  const all = await runRecords(hub.url, run);
  expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(expected);
  expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
});
