/**
 * `runlog follow ssh://…` against a real sshd (Debian's openssh-server) started here on 127.0.0.1,
 * with its own host key and a key made for the test (test/sshd.ts). Skipped when sshd is absent,
 * failed instead with RUNLOG_TEST_STRICT=1.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { checkpointPath, loadCheckpoint } from '../src/sources/file/checkpoint.js';
import { cli, FIXTURES, hubOn, tempDir, waitFor } from './helpers.js';
import { remoteScripts, sshdAvailable, startSshd } from './sshd.js';

const available = sshdAvailable();

/** The pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return state !== '' && !state.startsWith('Z');
  } catch {
    return false;
  }
}

/** Lines `from`–`to` of `lineText`, each ended by \n. */
function block(from: number, to: number): string {
  return Array.from({ length: to - from + 1 }, (_, k) => `${lineText(from + k)}\n`).join('');
}

function lineText(i: number): string {
  return `remote ${i} é ${'x'.repeat(i % 40)}`;
}

describe.skipIf(!available)('runlog follow over ssh (a real sshd)', () => {
  let sshd: ChildProcess;
  let port: number;
  let hub: RunningHub;
  let sshOption: string;
  let dir: string;

  beforeAll(async () => {
    ({ process: sshd, port, sshOption, dir } = await startSshd());
    hub = await hubOn(tempDir());
  });

  afterAll(async () => {
    sshd?.kill('SIGTERM');
    await hub?.close();
  });

  // a follower a failed test did not get to stop is not left running
  const followers: ChildProcess[] = [];
  afterEach(() => {
    for (const child of followers.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  async function records(run: string): Promise<WireRecord[]> {
    const response = await fetch(`${hub.url}/api/runs/${run}/logs?limit=10000`);
    return response.ok ? ((await response.json()) as { logs: WireRecord[] }).logs : [];
  }

  /** A follower of a new remote file `name` into run `run`, its first session up. */
  async function followRemote(name: string, run: string) {
    const path = join(dir, name);
    writeFileSync(path, '');
    const url = `ssh://root@127.0.0.1:${port}${path}`;
    const follower = cli(['follow', url, '--run', run, '--hub', hub.url, '--data', tempDir(), '--ssh-option', sshOption]);
    followers.push(follower.child);
    await waitFor(async () => (await fetch(`${hub.url}/api/runs/${run}`)).ok || undefined, 20_000, 'the run');
    await waitFor(() => remoteScripts(path).length > 0 || undefined, 20_000, 'the first session');
    await new Promise((r) => setTimeout(r, 300)); // its header is out: it reads from the file's end as it is now
    return { path, follower };
  }

  /** Lines 1–40 of `lineText` in a new remote file, followed into `run` and the follower stopped (SIGTERM): `start` starts it again from its checkpoint. */
  async function followedThenStopped(name: string, run: string) {
    const path = join(dir, name);
    const url = `ssh://root@127.0.0.1:${port}${path}`;
    const data = tempDir();
    writeFileSync(path, block(1, 40));
    const start = () => {
      const result = cli(['follow', url, '--run', run, '--hub', hub.url, '--data', data, '--ssh-option', sshOption]);
      followers.push(result.child);
      return result;
    };
    const first = start();
    await waitFor(async () => (await records(run)).length >= 40 || undefined, 20_000, '40 lines');
    await new Promise((r) => setTimeout(r, 500));
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);
    return { path, start };
  }

  /** Runs the log writer on the remote file to its end. */
  async function write(options: object): Promise<void> {
    const writer = spawn(process.execPath, [join(FIXTURES, 'log_writer.mjs'), JSON.stringify({ every: 8, prefix: 'remote', ...options })], { stdio: 'inherit' });
    expect(await new Promise((resolve) => writer.on('close', resolve))).toBe(0);
  }

  /** Waits until `done` holds for the run's records, lets a repeat show up, stops the follower (exit 0): the run's records. */
  async function stopWhen(run: string, follower: ReturnType<typeof cli>, done: (all: WireRecord[]) => boolean): Promise<WireRecord[]> {
    await waitFor(async () => done(await records(run)) || undefined, 30_000, `the lines of ${run}`);
    await new Promise((r) => setTimeout(r, 700)); // a line repeated would come by now
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    return records(run);
  }

  it('survives a killed connection and a restart with no line lost or repeated, and leaves no ssh process', async () => {
    const path = join(dir, 'train.log');
    writeFileSync(path, '');
    const data = tempDir();
    const url = `ssh://root@127.0.0.1:${port}${path}`;
    const sshPids = new Set<number>();
    const start = () => {
      const result = cli(['follow', url, '--run', 'over-ssh', '--hub', hub.url, '--data', data, '--ssh-option', sshOption, '--partial-timeout', '300ms']);
      followers.push(result.child);
      const watch = setInterval(() => {
        for (const pid of childrenOf(result.child.pid ?? 0)) sshPids.add(pid);
      }, 50);
      void result.then(() => clearInterval(watch));
      return result;
    };
    const count = async () => (await records('over-ssh')).filter((r) => r.source === 'file').length;
    const writer = spawn(process.execPath, [join(FIXTURES, 'log_writer.mjs'), JSON.stringify({ path, from: 1, to: 500, every: 6, prefix: 'remote' })], {
      stdio: 'inherit',
    });
    const written = new Promise((resolve) => writer.on('close', resolve));

    let follower = start();
    await waitFor(async () => (await count()) >= 50 || undefined, 20_000, '50 lines');
    // the connection dies mid-stream: kill the sshd process serving it
    const sessions = childrenOf(sshd.pid ?? 0);
    expect(sessions.length).toBeGreaterThan(0);
    for (const pid of sessions) process.kill(pid, 'SIGKILL');
    const before = await count();
    // (on a busy machine the writer may be near its end by now: 500 lines is all there is)
    await waitFor(async () => (await count()) >= Math.min(before + 50, 500) || undefined, 20_000, 'lines after the reconnection');

    follower.child.kill('SIGTERM');
    const first = await follower;
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/connecting again/);
    // the first one's script may linger on the host a few seconds (it ends on its next keep-alive)
    const lingering = new Set(remoteScripts(path));
    follower = start();
    // up before it is stopped (the first may have delivered every line already)
    await waitFor(() => remoteScripts(path).some((pid) => !lingering.has(pid)) || undefined, 20_000, 'the second follower');
    expect(await written).toBe(0);
    await waitFor(async () => (await count()) >= 500 || undefined, 30_000, 'all 500 lines');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);

    const all = await records('over-ssh');
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(Array.from({ length: 500 }, (_, i) => lineText(i + 1)));
    expect(all.filter((r) => r.source === 'system')).toEqual([]);
    expect(all.every((r) => r.source !== 'file' || r.attrs?.path === url)).toBe(true);
    // no ssh client left behind, and, soon, nothing on the "remote" side either
    expect(sshPids.size).toBeGreaterThanOrEqual(3);
    for (const pid of sshPids) expect(alive(pid)).toBe(false);
    await waitFor(() => childrenOf(sshd.pid ?? 0).length === 0 || undefined, 15_000, 'the sessions to end');
  });

  it('reads a file that was rotated away before it could be read (two rotations in a row), from beside the name', async () => {
    const { path, follower } = await followRemote('twice.log', 'ssh-twice');
    // lines 61–120 live in a file that is renamed away ~0.5 s after it appears: while the first
    // session still reads its old file (it lingers 2 s after a rotation), so nobody reads it then
    await write({ path, from: 1, to: 180, rotate: { at: [60, 120], how: 'rename' } });
    const all = await stopWhen('ssh-twice', follower, (all) => all.filter((r) => r.source === 'file').length >= 180);
    expect(all.map((r) => r.message)).toEqual(Array.from({ length: 180 }, (_, i) => lineText(i + 1)));
  });

  it('follows a rotation on the remote host: the old file to its end, then the new one from its start', async () => {
    const { path, follower } = await followRemote('rotating.log', 'ssh-rotation');
    await write({ path, from: 1, to: 250, rotate: { at: [100], how: 'rename' } });
    const all = await stopWhen('ssh-rotation', follower, (all) => all.length >= 250);
    expect(all.map((r) => r.message)).toEqual(Array.from({ length: 250 }, (_, i) => lineText(i + 1)));
  });

  it('follows copytruncate on the remote host twice: each line once, in order, the lines between the last read and each truncation from the copy', async () => {
    const { path, follower } = await followRemote('copied.log', 'ssh-copytruncate');
    await write({ path, from: 1, to: 250, rotate: { at: [100, 180], how: 'copytruncate' } });
    const all = await stopWhen('ssh-copytruncate', follower, (all) => all.filter((r) => r.source === 'file').length >= 250);
    expect(all.map((r) => r.message)).toEqual(Array.from({ length: 250 }, (_, i) => lineText(i + 1)));
  });

  it('says what a truncation in place cost (no copy beside the file) and repeats nothing', async () => {
    const { path, follower } = await followRemote('emptied.log', 'ssh-truncate');
    await write({ path, from: 1, to: 150, every: 4, rotate: { at: [100], how: 'truncate' } });
    const all = await stopWhen('ssh-truncate', follower, (all) => all.some((r) => r.message === lineText(150)));
    const lines = all.filter((r) => r.source === 'file').map((r) => r.message);
    // every line after the truncation, each line at most once, in order
    expect(lines.slice(-50)).toEqual(Array.from({ length: 50 }, (_, i) => lineText(i + 101)));
    expect(new Set(lines).size).toBe(lines.length);
    const numbers = lines.map((line) => Number(line.split(' ')[1]));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    // a loss is said, with the byte it starts after; none when nothing was lost
    const said = all.filter((r) => r.source === 'system').map((r) => r.message);
    if (lines.length < 150) expect(said.join('\n')).toMatch(/truncated; lines written after byte \d+ before the truncation could not be read/);
    else expect(said.every((m) => /truncated; lines written after byte \d+/.test(m))).toBe(true);
  });

  it('sees a truncation in place that the writer regrew past the read offset between two looks (other first line): the loss said, no fragment of a line', async () => {
    const { path, follower } = await followRemote('regrown.log', 'ssh-regrown');
    appendFileSync(path, block(1, 29));
    await waitFor(async () => (await records('ssh-regrown')).length >= 29 || undefined, 20_000, '29 lines');
    // one open(O_TRUNC) and one write, far quicker than a look: the file is longer than before when next looked at
    writeFileSync(path, block(101, 130));
    const all = await stopWhen('ssh-regrown', follower, (all) => all.some((r) => r.message === lineText(130)));
    const lines = all.filter((r) => r.source === 'file').map((r) => r.message);
    expect(lines).toEqual([...Array.from({ length: 29 }, (_, i) => lineText(i + 1)), ...Array.from({ length: 30 }, (_, i) => lineText(i + 101))]);
    expect(all.filter((r) => r.source === 'system').map((r) => r.message).join('\n')).toMatch(/truncated; lines written after byte \d+ before the truncation could not be read/);
  });

  it('restarted after the file was renamed while it was stopped, reads the rest of the renamed file, then the new one', async () => {
    const { path, start } = await followedThenStopped('moved.log', 'ssh-moved');
    appendFileSync(path, block(41, 60));
    renameSync(path, `${path}.1`);
    writeFileSync(path, block(61, 80));
    const second = start();
    const all = await stopWhen('ssh-moved', second, (all) => all.filter((r) => r.source === 'file').length >= 80);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(Array.from({ length: 80 }, (_, i) => lineText(i + 1)));
    expect(all.filter((r) => r.source === 'system')).toEqual([]);
  });

  it('restarted after two rotations while it was stopped, reads the rest of the first file, the whole middle one, then the new one', async () => {
    const { path, start } = await followedThenStopped('twice-moved.log', 'ssh-twice-moved');
    // logrotate twice while nobody followed: .1 becomes .2, the name becomes .1, a new file under the name
    appendFileSync(path, block(41, 60));
    renameSync(path, `${path}.1`);
    writeFileSync(path, block(61, 80));
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, block(81, 100));
    writeFileSync(`${path}.3`, 'an older rotation, not to be read\n');
    execFileSync('touch', ['-d', '2020-01-01', `${path}.3`]);
    const second = start();
    const all = await stopWhen('ssh-twice-moved', second, (all) => all.filter((r) => r.source === 'file').length >= 100);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(Array.from({ length: 100 }, (_, i) => lineText(i + 1)));
    expect(all.filter((r) => r.source === 'system')).toEqual([]);
  });

  /** A new empty remote file followed into `run` and the follower stopped once it knows the file (its inode, at offset 0): `start` starts it again. */
  async function followedEmptyThenStopped(name: string, run: string) {
    const path = join(dir, name);
    writeFileSync(path, '');
    const url = `ssh://root@127.0.0.1:${port}${path}`;
    const data = tempDir();
    const start = () => {
      const result = cli(['follow', url, '--run', run, '--hub', hub.url, '--data', data, '--ssh-option', sshOption]);
      followers.push(result.child);
      return result;
    };
    const first = start();
    await waitFor(() => remoteScripts(path).length > 0 || undefined, 20_000, 'the first session');
    await new Promise((r) => setTimeout(r, 300)); // its header is out: the follower knows the file
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);
    expect(loadCheckpoint(checkpointPath(data, run))?.files).toMatchObject([{ offset: 0 }]);
    return { path, url, start };
  }

  it('restarted after its file was renamed before any line of it was read, reads the renamed file whole, then the new one', async () => {
    const { path, start } = await followedEmptyThenStopped('unread.log', 'ssh-unread');
    // written and rotated while nobody followed: lines 1–20 only in the renamed file
    appendFileSync(path, block(1, 20));
    renameSync(path, `${path}.1`);
    writeFileSync(path, block(21, 40));
    const second = start();
    const all = await stopWhen('ssh-unread', second, (all) => all.filter((r) => r.source === 'file').some((r) => r.message === lineText(40)));
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(Array.from({ length: 40 }, (_, i) => lineText(i + 1)));
    expect(all.filter((r) => r.source === 'system')).toEqual([]);
  });

  it('restarted after its file was replaced before any line of it was read, says what could not be read', async () => {
    const { path, url, start } = await followedEmptyThenStopped('unread-gone.log', 'ssh-unread-gone');
    appendFileSync(path, block(1, 20));
    // another file renamed over it (made first: it cannot take the old one's inode), the old one gone
    writeFileSync(`${path}.new`, block(21, 40));
    renameSync(`${path}.new`, path);
    const second = start();
    const all = await stopWhen('ssh-unread-gone', second, (all) => all.some((r) => r.message === lineText(40)));
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(Array.from({ length: 20 }, (_, i) => lineText(i + 21)));
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([
      `${url}: changed while nobody followed it (truncated, replaced, deleted, or moved out of its directory): what was written after byte 0 could not be read`,
    ]);
  });

  it('restarted after a copytruncate while it was stopped, reads the lines before the truncation from the copy, then the new file', async () => {
    const { path, start } = await followedThenStopped('copied-stopped.log', 'ssh-copied-stopped');
    // logrotate's copytruncate while nobody followed: lines 41–60 only in the copy, the name starts over
    appendFileSync(path, block(41, 60));
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, block(61, 80));
    const second = start();
    const all = await stopWhen('ssh-copied-stopped', second, (all) => all.filter((r) => r.source === 'file').length >= 80);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(Array.from({ length: 80 }, (_, i) => lineText(i + 1)));
    expect(all.filter((r) => r.source === 'system')).toEqual([]);
  });

  it('ships the first line of a remote file that starts with a UTF-8 BOM without U+FEFF, the BOM counted as read', async () => {
    const path = join(dir, 'bom.log');
    const text = '\uFEFFfirst\r\nsecond\r\n';
    writeFileSync(path, text);
    const data = tempDir();
    const follower = cli(['follow', `ssh://root@127.0.0.1:${port}${path}`, '--run', 'ssh-bom', '--hub', hub.url, '--data', data, '--ssh-option', sshOption]);
    followers.push(follower.child);
    const all = await stopWhen('ssh-bom', follower, (all) => all.length >= 2);
    expect(all.map((r) => r.message)).toEqual(['first', 'second']);
    expect(loadCheckpoint(checkpointPath(data, 'ssh-bom'))?.files).toMatchObject([{ offset: Buffer.byteLength(text) }]);
  });

  it('with --until-idle, reads a file created while it waited for the name, instead of stopping before the remote side saw it', async () => {
    const path = join(dir, 'late.log');
    // the remote side waits for the name within its session, saying each second that it looked:
    // counted from its looks, the follower is not idle before it has looked past the file's
    // creation, and reads it; the first look only has to come within 6 s, however slow ssh sessions
    // are on this machine (4.5–5.7 s seen under load).
    const idleMs = 6000;
    const startedAt = Date.now(); // before the follower starts: its looks are no earlier than this says
    const follower = cli(['follow', `ssh://root@127.0.0.1:${port}${path}`, '--run', 'ssh-late', '--hub', hub.url, '--data', tempDir(), '--ssh-option', sshOption, '--until-idle', `${idleMs}ms`]);
    followers.push(follower.child);
    let said = '';
    follower.child.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await waitFor(() => /no such file yet; it is read once it appears/.test(said) || undefined, 20_000, 'the first look for the name');
    const lookedWithinMs = Date.now() - startedAt;
    writeFileSync(path, block(1, 5));
    const done = await follower;
    expect(lookedWithinMs, `the first look within the idle time (the follower said: ${said.slice(-400)})`).toBeLessThan(idleMs);
    expect(done.code).toBe(0);
    expect((await records('ssh-late')).map((r) => r.message)).toEqual(Array.from({ length: 5 }, (_, i) => lineText(i + 1)));
  });

  it('with --until-idle, ends after the idle time when the host never answers (a failed connection is a look)', async () => {
    // a port nothing listens on: every connection is refused at once
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const free = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(free));
      });
    });
    const started = Date.now();
    const follower = cli(['follow', `ssh://root@127.0.0.1:${closed}${join(dir, 'never.log')}`, '--run', 'ssh-nohost', '--hub', hub.url, '--data', tempDir(), '--ssh-option', sshOption, '--until-idle', '1500ms']);
    followers.push(follower.child);
    const done = await follower;
    expect(done.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('stopped (SIGTERM) just after lines were written, reads the remote file to its end before it exits', async () => {
    const { path, follower } = await followRemote('stopping.log', 'ssh-stop');
    appendFileSync(path, block(1, 10));
    await waitFor(async () => (await records('ssh-stop')).length >= 10 || undefined, 20_000, '10 lines');
    // still for over 2 s: the script looks 4 times a second, so the next lines are not read yet when the stop comes
    await new Promise((r) => setTimeout(r, 2500));
    appendFileSync(path, block(11, 30));
    const stopAt = Date.now();
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    // the script ended by itself at its stdin's end (not killed after the 5 s a stop waits at most), and left nothing behind
    expect(Date.now() - stopAt).toBeLessThan(4_000);
    await waitFor(() => remoteScripts(path).length === 0 || undefined, 5_000, 'the remote script and its stdin reader to end');
    const all = await records('ssh-stop');
    expect(all.map((r) => r.message)).toEqual(Array.from({ length: 30 }, (_, i) => lineText(i + 1)));
  });

  it('leaves no ssh process, here or on the host, when the follower is killed with SIGKILL', async () => {
    const { follower } = await followRemote('killed.log', 'ssh-killed');
    const local = childrenOf(follower.child.pid ?? 0); // ssh and its watchdog
    const sessions = childrenOf(sshd.pid ?? 0); // sshd's process for the connection, the script below it
    expect(local.length).toBeGreaterThan(0);
    expect(sessions.length).toBeGreaterThan(0);
    follower.child.kill('SIGKILL');
    await follower;
    await waitFor(() => local.every((pid) => !alive(pid)) || undefined, 5_000, 'the ssh client to go');
    await waitFor(() => sessions.every((pid) => !alive(pid)) || undefined, 15_000, 'the session on the host to end');
  });
});
