/**
 * A file renamed out of the glob while its writer keeps it open, and quiet for a while (a loop
 * that logs once a minute): it used to be let go after 5 s without growth, and the lines written
 * to it after that were lost without a word. It is now held for --release-after (5 min), and one
 * let go is still looked at by name: grown, it is read on, by a restarted follower too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import type { FollowCheckpoint } from '../src/sources/file/checkpoint.js';
import { cli, FIXTURES, hubOn, tempDir, waitFor } from './helpers.js';

const WRITER = join(FIXTURES, 'log_writer.mjs');
let hub: RunningHub;
const children: ChildProcess[] = [];
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await hub?.close();
});

function writer(options: object): Promise<number | null> {
  const child = spawn(process.execPath, [WRITER, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(child);
  return new Promise((resolve) => child.on('close', resolve));
}

function follow(data: string, args: string[]) {
  const result = cli(['follow', '--hub', hub.url, '--data', data, '--partial-timeout', '300ms', '--poll', '100ms', ...args]);
  children.push(result.child);
  return result;
}

async function records(run: string): Promise<WireRecord[]> {
  const response = await fetch(`${hub.url}/api/runs/${run}/logs?limit=10000`);
  if (response.status === 404) return [];
  return ((await response.json()) as { logs: WireRecord[] }).logs;
}
const fileLines = (all: WireRecord[]) => all.filter((r) => r.source === 'file').map((r) => r.message);
const expected = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => `line ${from + k} é ${'x'.repeat((from + k) % 40)}`);
const byNumber = (lines: string[]) => [...lines].sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]));

async function stop(result: ReturnType<typeof follow>, data: string, run: string) {
  const lock = join(data, 'follow', `${run}.lock`);
  await waitFor(() => (existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(result.child.pid)) || undefined, LONG, 'the follower');
  result.child.kill('SIGTERM');
  expect((await result).code).toBe(0);
}

/**
 * Renamed to app.log.old1 at line 40, lines 41-70 still written to it with a pause after 50 (of
 * `pauseMs`, or until the file `until` exists: the test says when it has seen the quiet's effect);
 * 71-100 to a new app.log.
 */
const moveOut = (path: string, run: string, pause: { ms: number } | { until: string }) => ({
  path,
  from: 1,
  to: 100,
  every: 10,
  rotate: { at: [40], how: 'moveout' },
  pause: { after: 50, ...pause },
  // renamed out of the glob only once the follower has read from it: one that started later (a
  // loaded machine) never saw app.log and had lines 71-100 only
  gate: { url: hub.url, run },
});

/** How long a wait for what a follower does may take on a loaded machine (a condition, not a pause: it ends when met). */
const LONG = 90_000;

async function followToTheEnd(data: string, run: string, result: ReturnType<typeof follow>) {
  await waitFor(async () => fileLines(await records(run)).length >= 100 || undefined, LONG, '100 lines').catch(() => undefined);
  await stop(result, data, run);
  const all = await records(run);
  expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
  expect(byNumber(fileLines(all))).toEqual(expected(1, 100));
}

it('renamed out of the glob, quiet for longer than 5 s, then written again: by default still held, every line read', async () => {
  const dir = tempDir();
  const data = tempDir();
  const path = join(dir, 'app.log');
  const writing = writer(moveOut(path, 'quiet', { ms: 7000 }));
  const result = follow(data, [join(dir, '*.log'), '--run', 'quiet']);
  expect(await writing).toBe(0);
  await followToTheEnd(data, 'quiet', result);
}, 4 * LONG);

/** The files a process holds open. */
function openFiles(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

it('let go after --release-after (its descriptor closed), then written again: opened again and read on from where it was', async () => {
  const dir = tempDir();
  const data = tempDir();
  const path = join(dir, 'app.log');
  const go = join(dir, 'go');
  const writing = writer(moveOut(path, 'again', { until: go }));
  const result = follow(data, [join(dir, '*.log'), '--run', 'again', '--release-after', '1s']);
  await waitFor(async () => fileLines(await records('again')).length >= 50 || undefined, LONG, '50 lines');
  const moved = `${path}.old1`;
  // held while it grows, closed once quiet for 1 s (the writer pauses until it is)
  await waitFor(() => !openFiles(result.child.pid!).includes(moved) || undefined, LONG, 'the moved file closed');
  writeFileSync(go, '');
  expect(await writing).toBe(0);
  await followToTheEnd(data, 'again', result);
}, 4 * LONG);

it('one file named: a file let go after the new one was made, written while the new one was empty, costs the new one no line on a restart', async () => {
  const dir = tempDir();
  const data = tempDir();
  const path = join(dir, 'app.log');
  writeFileSync(path, 'a1\n');
  const old = openSync(path, 'a');
  const first = follow(data, [path, '--run', 'one', '--release-after', '1s']);
  await waitFor(async () => fileLines(await records('one')).length >= 1 || undefined, LONG, 'a1');
  renameSync(path, `${path}.old`);
  writeFileSync(path, '');
  await waitFor(() => openFiles(first.child.pid!).includes(path) || undefined, LONG, 'the new file opened');
  // the new file is opened (its checkpoint seq is 1): the old one is written on, then let go
  writeSync(old, 'a2\na3\n');
  closeSync(old);
  await waitFor(async () => fileLines(await records('one')).length >= 3 || undefined, LONG, 'a2, a3');
  await waitFor(() => !openFiles(first.child.pid!).includes(`${path}.old`) || undefined, LONG, 'the old file let go');
  await stop(first, data, 'one');
  const checkpoint = JSON.parse(readFileSync(join(data, 'follow', 'one.json'), 'utf8')) as FollowCheckpoint;
  expect(checkpoint.files.map((file) => Boolean(file.released))).toEqual(expect.arrayContaining([true, false]));
  appendFileSync(path, 'b1\nb2\n');
  const second = follow(data, [path, '--run', 'one', '--release-after', '1s']);
  await waitFor(async () => fileLines(await records('one')).length >= 5 || undefined, LONG, '5 lines').catch(() => undefined);
  await stop(second, data, 'one');
  const all = await records('one');
  expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
  expect(fileLines(all)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
}, 4 * LONG);

it('let go, the follower stopped, the file written again meanwhile: the restart finds it in the checkpoint and reads on', async () => {
  const dir = tempDir();
  const data = tempDir();
  const path = join(dir, 'app.log');
  const go = join(dir, 'go');
  const writing = writer(moveOut(path, 'restart', { until: go }));
  const first = follow(data, [join(dir, '*.log'), '--run', 'restart', '--release-after', '1s']);
  const cpFile = join(data, 'follow', 'restart.json');
  const released = () => {
    const checkpoint = existsSync(cpFile) ? (JSON.parse(readFileSync(cpFile, 'utf8')) as FollowCheckpoint) : undefined;
    return checkpoint?.files.some((file) => file.released) || undefined;
  };
  // let go (the checkpoint says so once the next batch or the stop writes it): stopped then, and
  // the writer goes on while nobody follows
  await waitFor(async () => fileLines(await records('restart')).length >= 50 || undefined, LONG, '50 lines');
  await waitFor(() => !openFiles(first.child.pid!).includes(`${path}.old1`) || undefined, LONG, 'the moved file let go');
  await stop(first, data, 'restart');
  expect(released()).toBe(true);
  expect(byNumber(fileLines(await records('restart')))).toEqual(expected(1, 50));
  writeFileSync(go, '');
  expect(await writing).toBe(0);
  const second = follow(data, [join(dir, '*.log'), '--run', 'restart', '--release-after', '1s']);
  await followToTheEnd(data, 'restart', second);
}, 4 * LONG);
