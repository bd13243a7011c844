/**
 * FileFollower in-process, against real files: a follower stalled right after it opened a file (a
 * loaded machine, a laptop asleep, SIGSTOP) must still read the lines written after that open.
 * The stall is made deterministic by the target: its source() is called inside the open, after
 * the file's first look, and the "writer" rotates the file there.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readlinkSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fingerprint, type FileCheckpoint } from './checkpoint.js';
import type { ByteSink } from './feed.js';
import { FileFollower, type LineTarget } from './follower.js';

const block = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => `line ${from + k}\n`).join('');

/** A target collecting each line and each system message; `onSource` runs inside the follower's open. */
function target(onSource: () => void = () => {}) {
  const bytes: Buffer[] = [];
  const said: string[] = [];
  const sink: ByteSink = { push: (chunk) => bytes.push(Buffer.from(chunk)), end: () => {} };
  const t: LineTarget = {
    lastSeq: 0,
    source: () => {
      onSource();
      return sink;
    },
    system: (message) => said.push(message),
  };
  const lines = () => Buffer.concat(bytes).toString().split('\n').filter((line) => line !== '');
  return { t, lines, said };
}

/** A new directory with `app.log` holding `content`. */
function newLog(content: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-follower-'));
  const path = join(dir, 'app.log');
  writeFileSync(path, content);
  return { dir, path };
}

/** logrotate's copytruncate: the file copied to `copy`, then emptied in place */
function copytruncate(path: string, copy: string): void {
  copyFileSync(path, copy);
  truncateSync(path, 0);
}

it('an empty file copied and truncated twice while the follower stalled inside its open: the copies, then the file, nothing said', () => {
  const { dir, path } = newLog('');
  writeFileSync(`${path}.0`, 'an older copy\n'); // there before: not this follower's to read
  let stalled = false;
  const { t, lines, said } = target(() => {
    if (stalled) return;
    stalled = true;
    // the follower has opened the empty file and looked at it, not at its siblings yet
    appendFileSync(path, block(1, 3));
    copytruncate(path, `${path}.1`);
    appendFileSync(path, block(4, 6));
    copytruncate(path, `${path}.2`);
    appendFileSync(path, block(7, 9));
  });
  const follower = new FileFollower({ patterns: [join(dir, '*.log')], target: t });
  follower.start();
  follower.stop(true);
  follower.close();
  expect(lines()).toEqual(block(1, 9).trim().split('\n'));
  expect(said).toEqual([]);
});

it('a file not read yet (the target busy), then copied and truncated: the copy once, then the file', () => {
  const { path } = newLog(block(1, 3));
  let busy = true;
  const { t, lines, said } = target();
  const follower = new FileFollower({ patterns: [path], target: t, busy: () => busy });
  follower.start(); // opened, nothing read: the target is busy
  expect(lines()).toEqual([]);
  copytruncate(path, `${path}.1`);
  appendFileSync(path, block(4, 5));
  busy = false;
  follower.pass();
  follower.stop(true);
  follower.close();
  expect(lines()).toEqual(block(1, 5).trim().split('\n'));
  expect(said).toEqual([]);
});

it('a follower stalled while it reads the copies of a truncation, the file copied and truncated again meanwhile: that copy too, nothing said', () => {
  const { dir, path } = newLog(block(1, 3));
  let stalled = false;
  const { t, lines, said } = target();
  const follower = new FileFollower({ patterns: [join(dir, '*.log')], target: t });
  follower.start(); // lines 1-3 read
  appendFileSync(path, block(4, 6));
  copytruncate(path, `${path}.1`);
  appendFileSync(path, block(7, 12));
  copytruncate(path, `${path}.2`);
  appendFileSync(path, block(13, 20));
  const sink = t.source('file', {});
  const push = sink.push.bind(sink);
  // the second copy is being read (its siblings were listed): the writer copies and truncates again
  sink.push = (chunk) => {
    push(chunk);
    if (stalled || !chunk.toString().includes('line 7\n')) return;
    stalled = true;
    copytruncate(path, `${path}.3`);
    appendFileSync(path, block(21, 23));
  };
  follower.pass();
  follower.stop(true);
  follower.close();
  expect(lines()).toEqual(block(1, 23).trim().split('\n'));
  expect(said).toEqual([]);
});

/** Our own descriptors pointing to the deleted `path`. */
const heldDeleted = (path: string) => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === `${path} (deleted)`;
  } catch {
    return false;
  }
}).length;

it('issue 11: a deleted file its writer still holds open is not let go: what the writer writes later is read; let go once nobody else holds it', async () => {
  const { path } = newLog('line 1\n');
  const fd = openSync(path, 'a');
  // the writer: another process holding the file open for writing (as a job whose log was rm'ed)
  const writer = spawn('sleep', ['600'], { stdio: ['ignore', fd, 'ignore'] });
  try {
    const { t, lines, said } = target();
    // let go at once when quiet and deleted (the default is 5 s): only a holder keeps it
    const follower = new FileFollower({ patterns: [path], target: t, pollMs: 3_600_000, deletedReleaseAfterMs: 0, partialTimeoutMs: 0 });
    follower.start();
    unlinkSync(path);
    follower.pass(); // no name: detached
    follower.pass(); // quiet and deleted, but held by the writer
    follower.pass();
    writeSync(fd, 'line 2\n');
    follower.pass();
    expect(lines()).toEqual(['line 1', 'line 2']);
    closeSync(fd);
    expect(heldDeleted(path)).toBe(1); // the follower's
    writer.kill('SIGKILL');
    await once(writer, 'exit'); // (a pass the directory's watch event asks for may run meanwhile)
    follower.pass(); // nobody else holds it now: let go
    expect(heldDeleted(path)).toBe(0);
    follower.close();
    expect(said).toEqual([]);
  } finally {
    writer.kill('SIGKILL');
  }
});

it.each([
  ['written on', (copy: string) => appendFileSync(copy, 'copy 1\ncopy 2\n')],
  ['rewritten', (copy: string) => writeFileSync(copy, 'copy 1\ncopy 2\n')],
])('issue 11: under app.log*, a copy of app.log %s before app.log is truncated: its own lines are read, once', (_, change) => {
  const { path } = newLog(block(1, 3));
  const { t, lines, said } = target();
  const follower = new FileFollower({ patterns: [`${path}*`], target: t, pollMs: 3_600_000 });
  follower.start(); // lines 1-3
  copyFileSync(path, `${path}.1`);
  follower.pass(); // a copy of app.log: not followed while it is one
  change(`${path}.1`);
  appendFileSync(path, block(4, 6));
  follower.pass(); // no copy any more
  appendFileSync(`${path}.1`, 'copy 3\n');
  follower.pass();
  follower.stop(true);
  follower.close();
  expect(lines().filter((line) => line.startsWith('line'))).toEqual(block(1, 6).trim().split('\n'));
  expect(lines().filter((line) => line.startsWith('copy'))).toEqual(['copy 1', 'copy 2', 'copy 3']);
  expect(said).toEqual([]);
});

it.each([
  ['renamed (rename and create)', (path: string) => renameSync(path, `${path}.1`)],
  ['copied and truncated', (path: string) => copytruncate(path, `${path}.1`)],
])('issue 11: under app.log*, app.log %s while the follower was stopped: a restart reads the rest of the rotated file before the new one', (_, rotate) => {
  const { path } = newLog(block(1, 6));
  const read = Buffer.from(block(1, 3));
  const { dev, ino } = statSync(path);
  // the stopped follower's checkpoint: lines 1-3 delivered
  const resume = [{ path, dev, ino, fp: fingerprint(Buffer.from(block(1, 6))), fp_len: block(1, 6).length, offset: read.length, size: read.length, seq: 3 }];
  rotate(path);
  appendFileSync(path, block(7, 9));
  const { t, lines, said } = target();
  const follower = new FileFollower({ patterns: [`${path}*`], target: t, pollMs: 3_600_000, resume });
  follower.start();
  follower.stop(true);
  follower.close();
  expect(lines()).toEqual(block(4, 9).trim().split('\n'));
  expect(said).toEqual([]);
});

it('under app.log*, app.log copied to app.log.1 (more than was read of it), then deleted and made again: the copy is not read again', () => {
  const { path } = newLog(block(1, 3));
  const { t, lines, said } = target();
  const sink = t.source('file', {});
  const push = sink.push.bind(sink);
  let copied = false;
  let busy = false;
  // lines 1-3 read (the target full now: no more read): the writer adds two and copies app.log before the follower looks at the directory
  sink.push = (chunk) => {
    push(chunk);
    if (copied) return;
    copied = busy = true;
    appendFileSync(path, block(4, 5));
    copyFileSync(path, `${path}.1`);
  };
  const follower = new FileFollower({ patterns: [`${path}*`], target: t, pollMs: 3_600_000, busy: () => busy });
  follower.start();
  busy = false;
  unlinkSync(path);
  writeFileSync(path, block(6, 7));
  follower.pass();
  appendFileSync(`${path}.1`, 'copy 1\n');
  follower.pass();
  follower.stop(true);
  follower.close();
  expect(lines()).toEqual([...block(1, 7).trim().split('\n'), 'copy 1']);
  expect(said).toEqual([]);
});

it('under app.log*, app.log copied to app.log.1, then deleted and made again: the copy is not read again', () => {
  const { path } = newLog(block(1, 3));
  copyFileSync(path, `${path}.1`);
  const { t, lines, said } = target();
  const follower = new FileFollower({ patterns: [`${path}*`], target: t, pollMs: 3_600_000 });
  follower.start(); // app.log read; app.log.1 a copy of it
  unlinkSync(path);
  writeFileSync(path, block(4, 5));
  follower.pass();
  appendFileSync(`${path}.1`, 'copy 1\n');
  follower.pass();
  follower.stop(true);
  follower.close();
  expect(lines()).toEqual([...block(1, 5).trim().split('\n'), 'copy 1']);
  expect(said).toEqual([]);
});

it('issue 11: deleted while the follower was stopped, its writer still holding it: a restart reads on through the writer\'s descriptor', async () => {
  const { path } = newLog(block(1, 3));
  const fd = openSync(path, 'a');
  const writer = spawn('sleep', ['600'], { stdio: ['ignore', fd, 'ignore'] });
  try {
    const { dev, ino } = statSync(path);
    const first = Buffer.from(block(1, 3));
    const resume = [{ path, dev, ino, fp: fingerprint(first), fp_len: first.length, offset: first.length, size: first.length, seq: 3 }];
    unlinkSync(path);
    writeSync(fd, block(4, 5));
    const { t, lines, said } = target();
    const follower = new FileFollower({ patterns: [path], target: t, pollMs: 3_600_000, resume });
    follower.start();
    writeSync(fd, block(6, 6));
    follower.pass();
    follower.stop(true);
    follower.close();
    expect(lines()).toEqual(block(4, 6).trim().split('\n'));
    expect(said).toEqual([]);
  } finally {
    closeSync(fd);
    writer.kill('SIGKILL');
    await once(writer, 'exit');
  }
});

/** A target numbering the lines it is given (seq: line ends so far), as a RecordBuilder does: delivered() marks count in them. */
function countingTarget() {
  const { t, lines, said } = target();
  return { t: { ...t, get lastSeq() { return lines().length; } } as LineTarget, lines, said };
}

/** logrotate's `rotate 3` with `create`: app.log.3 deleted, app.log.2 → .3, .1 → .2, app.log → .1, a new app.log */
function rotateKeeping3(path: string): void {
  unlinkSync(`${path}.3`);
  for (const n of [2, 1]) renameSync(`${path}.${n}`, `${path}.${n + 1}`);
  renameSync(path, `${path}.1`);
  writeFileSync(path, '');
}

/** A follower started from `saved` (the last one's checkpoint), read to the end, stopped; its checkpoint. */
function runOnce(patterns: string[], t: LineTarget, saved: { files: FileCheckpoint[]; lookedAt: number | undefined }) {
  const follower = new FileFollower({ patterns, target: t, pollMs: 3_600_000, resume: saved.files, resumeLookedAt: saved.lookedAt });
  follower.start();
  follower.stop(true);
  const files = follower.delivered(Number.MAX_SAFE_INTEGER);
  follower.close();
  return { files, lookedAt: follower.lookedAt };
}

it.each([['a glob', '*'], ['one path', '']])(
  'issue 11: %s, logrotate keeping 3 copies between restarts: the oldest copy, read to its end and deleted by the rotation, is dropped without a word',
  (_, glob) => {
    const { path } = newLog('');
    for (const n of [1, 2, 3]) writeFileSync(`${path}.${n}`, `older ${n}\n`);
    const { t, lines, said } = countingTarget();
    let saved = runOnce([`${path}${glob}`], t, { files: [], lookedAt: undefined });
    let written = 0;
    for (let round = 0; round < 5; round++) {
      appendFileSync(path, block(written + 1, written + 3));
      saved = runOnce([`${path}${glob}`], t, saved);
      rotateKeeping3(path); // app.log.3, read to its end, goes: its writer moved on long ago
      appendFileSync(path, block(written + 4, written + 5));
      written += 5;
    }
    runOnce([`${path}${glob}`], t, saved);
    expect(lines().filter((line) => line.startsWith('line '))).toEqual(block(1, written).trim().split('\n'));
    expect(said).toEqual([]);
  },
);

it('issue 11: the live file read to its end, then deleted while the follower was stopped: its loss is still said (its writer may have written more)', () => {
  const { path } = newLog(block(1, 3));
  const { t, said } = countingTarget();
  const saved = runOnce([path], t, { files: [], lookedAt: undefined });
  unlinkSync(path);
  writeFileSync(path, block(4, 5));
  runOnce([path], t, saved);
  expect(said).toEqual([expect.stringContaining(`${path}: changed while nobody followed it`)]);
});

it('issue 11: a rotated copy read to its end, then truncated while the follower was stopped: there and shorter, its loss is said', () => {
  const { path } = newLog(block(1, 3));
  renameSync(path, `${path}.1`);
  writeFileSync(path, block(4, 5));
  const { t, said } = countingTarget();
  const saved = runOnce([`${path}*`], t, { files: [], lookedAt: undefined });
  expect(saved.files.find((file) => file.path === `${path}.1`)?.rotated).toBe(true);
  truncateSync(`${path}.1`, 0);
  runOnce([`${path}*`], t, saved);
  expect(said).toEqual([expect.stringContaining(`${path}.1: changed while nobody followed it`)]);
});
