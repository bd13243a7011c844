/**
 * Issue 11: logrotate keeping 3 copies (`rotate 3`: app.log.3 deleted, .2 → .3, .1 → .2, app.log →
 * .1, a new app.log, the writer told to reopen with SIGHUP; or `copytruncate`), and a follower
 * stopped (SIGTERM or SIGKILL) and restarted across each rotation. Every restart used to say
 * "app.log.3: changed while nobody followed it … could not be read" of the copy the rotation
 * deleted, though it had been read to its end: a loss that never was.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { cli, hubOn, tempDir, waitFor } from './helpers.js';

let hub: RunningHub;
const children: ChildProcess[] = [];
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await hub?.close();
});

/** Writes `line N` to `path` every 10 ms; reopens the file on SIGHUP (logrotate's postrotate); on SIGTERM, writes how many lines to `count` and ends. */
const WRITER = `
const fs = require('node:fs');
const [path, count] = process.argv.slice(1);
let fd = fs.openSync(path, 'a');
let n = 0;
process.on('SIGHUP', () => { fs.closeSync(fd); fd = fs.openSync(path, 'a'); });
process.on('SIGTERM', () => { fs.writeFileSync(count, String(n)); process.exit(0); });
setInterval(() => fs.writeSync(fd, 'line ' + ++n + '\\n'), 10);
`;

async function records(run: string): Promise<WireRecord[]> {
  const response = await fetch(`${hub.url}/api/runs/${run}/logs?limit=10000`);
  if (response.status === 404) return [];
  return ((await response.json()) as { logs: WireRecord[] }).logs;
}
const fileLines = (all: WireRecord[]) => all.filter((r) => r.source === 'file').map((r) => r.message);

/** logrotate's `rotate 3`: the oldest copy deleted, the others renamed one up; app.log renamed (create) or copied and emptied (copytruncate). */
function rotate(path: string, how: 'create' | 'copytruncate', writer: ChildProcess): void {
  if (existsSync(`${path}.3`)) unlinkSync(`${path}.3`);
  for (const n of [2, 1]) if (existsSync(`${path}.${n}`)) renameSync(`${path}.${n}`, `${path}.${n + 1}`);
  if (how === 'copytruncate') {
    // what is written between the copy and the truncation is lost (logrotate says so): not here
    writer.kill('SIGSTOP');
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    writer.kill('SIGCONT');
    return;
  }
  renameSync(path, `${path}.1`);
  writeFileSync(path, '');
  writer.kill('SIGHUP');
}

const LONG = 90_000;

it.each([
  ['a glob', 'create', '*'],
  ['one path', 'create', ''],
  ['a glob', 'copytruncate', '*'],
] as const)('%s, logrotate keeping 3 copies (%s) while the follower is stopped: no line said lost, every line shipped', async (_, how, glob) => {
  const dir = tempDir();
  const data = tempDir();
  const path = join(dir, 'app.log');
  const run = `keep-${how}-${glob === '' ? 'one' : 'glob'}`;
  writeFileSync(path, '');
  const count = join(data, 'count'); // not under the glob
  const writer = spawn(process.execPath, ['-e', WRITER, path, count], { stdio: 'ignore' });
  children.push(writer);
  let seen = 0;
  for (let round = 0; round < 6; round++) {
    const follower = cli(['follow', `${path}${glob}`, '--run', run, '--hub', hub.url, '--data', data, '--poll', '100ms', '--partial-timeout', '200ms']);
    children.push(follower.child);
    // the follower has shipped lines written since it started: it read the files that were there
    const before = seen;
    seen = await waitFor(async () => {
      const count = fileLines(await records(run)).length;
      return count >= before + 20 ? count : undefined;
    }, LONG, `lines past ${before + 20}`);
    follower.child.kill(round % 2 === 0 ? 'SIGTERM' : 'SIGKILL');
    await follower;
    rotate(path, how, writer);
  }
  writer.kill('SIGTERM');
  await waitFor(() => existsSync(count) || undefined, LONG, 'the writer stopped');
  const written = Number(readFileSync(count, 'utf8'));
  const last = cli(['follow', `${path}${glob}`, '--run', run, '--hub', hub.url, '--data', data, '--poll', '100ms', '--until-idle', '1s']);
  children.push(last.child);
  expect((await last).code).toBe(0);
  const all = await records(run);
  expect(all.filter((r) => r.source === 'system' && r.message.includes('could not be read')).map((r) => r.message)).toEqual([]);
  const expected = Array.from({ length: written }, (_, k) => `line ${k + 1}`);
  expect(new Set(fileLines(all))).toEqual(new Set(expected));
}, 6 * LONG);
