/**
 * Issue 11: "a file renamed out of the glob while still written" loses no line, whether the
 * follower runs through the rename or is stopped across it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { cli, FIXTURES, hubOn, tempDir, waitFor, runRecords } from './helpers.js';

const WRITER = join(FIXTURES, 'log_writer.mjs');
let hub: RunningHub | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await hub?.close();
  hub = undefined;
});

function writer(options: object): Promise<number | null> {
  const child = spawn(process.execPath, [WRITER, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(child);
  return new Promise((resolve) => child.on('close', resolve));
}

function follow(url: string, data: string, args: string[]) {
  const result = cli(['follow', '--hub', url, '--data', data, '--partial-timeout', '300ms', '--poll', '100ms', ...args]);
  children.push(result.child);
  return result;
}

const records = runRecords;
const fileLines = (all: WireRecord[]) => all.filter((r) => r.source === 'file').map((r) => r.message);
const expected = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => `line ${from + k} é ${'x'.repeat((from + k) % 40)}`);
const linesOf = (all: WireRecord[], path: string) => all.filter((r) => r.source === 'file' && r.attrs?.path === path).map((r) => r.message);

async function stop(result: ReturnType<typeof follow>, data: string, run: string) {
  const lock = join(data, 'follow', `${run}.lock`);
  await waitFor(() => (existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(result.child.pid)) || undefined, 20_000, 'the follower');
  result.child.kill('SIGTERM');
  expect((await result).code).toBe(0);
}

it('stopped, then its file renamed out of the glob while still written: a restart reads the rest of it', async () => {
  hub = await hubOn(tempDir());
  const url = hub.url;
  const dir = tempDir();
  const data = tempDir();
  const path = join(dir, 'app.log');
  const writing = writer({ path, from: 1, to: 300, every: 10 });
  const first = follow(url, data, [join(dir, '*.log'), '--run', 'moved']);
  await waitFor(async () => fileLines(await records(url, 'moved')).length >= 20 || undefined, 20_000, '20 lines');
  await stop(first, data, 'moved');
  renameSync(path, join(dir, 'app.done'));
  const size = statSync(join(dir, 'app.done')).size;
  await waitFor(() => statSync(join(dir, 'app.done')).size > size + 500 || undefined, 20_000, 'more lines');
  const second = follow(url, data, [join(dir, '*.log'), '--run', 'moved']);
  expect(await writing).toBe(0);
  await waitFor(async () => fileLines(await records(url, 'moved')).length >= 300 || undefined, 30_000, '300 lines').catch(() => undefined);
  await stop(second, data, 'moved');
  const all = await records(url, 'moved');
  expect(all.filter((r) => r.source === 'system')).toEqual([]);
  expect(fileLines(all)).toEqual(expected(1, 300));
});

it('a file made under the glob and renamed out of it (app.log → app.log.old1 for *.log) while the follower was stopped, still written: a restart reads it whole as it grows', async () => {
  hub = await hubOn(tempDir());
  const url = hub.url;
  const dir = tempDir();
  const data = tempDir();
  writeFileSync(join(dir, 'other.log'), 'other 1\n');
  const first = follow(url, data, [join(dir, '*.log'), '--run', 'made']);
  await waitFor(async () => fileLines(await records(url, 'made')).length >= 1 || undefined, 20_000, 'the first line');
  await stop(first, data, 'made');
  // made now, while nobody follows: renamed out of the glob at line 40, written on there up to
  // line 70, then a new app.log gets 71-150
  const path = join(dir, 'app.log');
  const moved = `${path}.old1`;
  const writing = writer({ path, from: 1, to: 150, every: 15, rotate: { at: [40], how: 'moveout' } });
  await waitFor(() => existsSync(moved) || undefined, 20_000, 'the rename');
  const second = follow(url, data, [join(dir, '*.log'), '--run', 'made']);
  expect(await writing).toBe(0);
  await waitFor(async () => fileLines(await records(url, 'made')).length >= 151 || undefined, 30_000, '151 lines').catch(() => undefined);
  await stop(second, data, 'made');
  const all = await records(url, 'made');
  expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
  expect(linesOf(all, moved)).toEqual(expected(1, 70));
  expect(linesOf(all, path)).toEqual(expected(71, 150));
  expect(linesOf(all, join(dir, 'other.log'))).toEqual(['other 1']);
});

it('its file moved out of the directory while it was stopped (still written): a restart says in a system line that the file is gone and what it could not read', async () => {
  hub = await hubOn(tempDir());
  const url = hub.url;
  const dir = tempDir();
  const elsewhere = join(tempDir(), 'away');
  mkdirSync(elsewhere);
  const data = tempDir();
  const path = join(dir, 'app.log');
  const writing = writer({ path, from: 1, to: 200, every: 10 });
  const first = follow(url, data, [join(dir, '*.log'), '--run', 'away']);
  await waitFor(async () => fileLines(await records(url, 'away')).length >= 20 || undefined, 20_000, '20 lines');
  await stop(first, data, 'away');
  const read = fileLines(await records(url, 'away')).length;
  renameSync(path, join(elsewhere, 'app.log'));
  const second = follow(url, data, [join(dir, '*.log'), '--run', 'away']);
  expect(await writing).toBe(0);
  await waitFor(async () => (await records(url, 'away')).some((r) => r.source === 'system') || undefined, 20_000, 'the system line');
  await stop(second, data, 'away');
  const all = await records(url, 'away');
  expect(fileLines(all)).toEqual(expected(1, read));
  const system = all.filter((r) => r.source === 'system').map((r) => r.message);
  expect(system).toHaveLength(1);
  expect(system[0]).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}: changed while nobody followed it \\(truncated, replaced, deleted, or moved out of its directory\\): (\\d+ bytes after byte \\d+|what was written after byte \\d+).* could not be read$`));
});

it('renamed out of the glob while followed and still written, then stopped and restarted while the moved file grows: every line once', async () => {
  hub = await hubOn(tempDir());
  const url = hub.url;
  const dir = tempDir();
  const data = tempDir();
  const path = join(dir, 'app.log');
  const moved = `${path}.old1`;
  writeFileSync(path, '');
  const first = follow(url, data, [join(dir, '*.log'), '--run', 'through']);
  await waitFor(async () => (await fetch(`${url}/api/runs/through`)).ok || undefined, 20_000, 'the run');
  // renamed at line 40, written on there up to line 70, then a new app.log gets 71-150
  const writing = writer({ path, from: 1, to: 150, every: 15, rotate: { at: [40], how: 'moveout' }, gate: { url, run: 'through' } });
  await waitFor(() => (existsSync(moved) && statSync(moved).size > 0) || undefined, 20_000, 'the rename');
  await waitFor(async () => linesOf(await records(url, 'through'), path).length >= 45 || undefined, 20_000, 'lines written after the rename');
  await stop(first, data, 'through');
  const second = follow(url, data, [join(dir, '*.log'), '--run', 'through']);
  expect(await writing).toBe(0);
  await waitFor(async () => fileLines(await records(url, 'through')).length >= 150 || undefined, 30_000, '150 lines').catch(() => undefined);
  await stop(second, data, 'through');
  const all = await records(url, 'through');
  expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
  // a file followed under its name keeps that name in its lines after the rename (the follower
  // had it open as app.log); a restart finds it as app.log.old1
  const oldLines = all.filter((r) => r.source === 'file' && (r.attrs?.path === moved || Number(r.message.split(' ')[1]) <= 70)).map((r) => r.message);
  expect(oldLines).toEqual(expected(1, 70));
  expect(fileLines(all).sort()).toEqual(expected(1, 150).sort());
});
