/**
 * `runlog follow` stopped while its file was too young to hold a whole line (bytes at offset 0,
 * none of them a line yet), the file then replaced on the same inode (truncated and written again,
 * or deleted and made again on the freed inode number) before the restart: the checkpoint's
 * fingerprint covers the bytes that were read, so the restart tells the new file from the old one
 * grown and says what could not be read, locally and over ssh (a real sshd, test/sshd.ts). Over
 * ssh the remote side also compares such a file's first bytes at each look (it has no first line
 * to compare yet), so one truncated and written again past the offset while followed is seen too.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPath, loadCheckpoint } from '../src/sources/file/checkpoint.js';
import { cliKilledAfterEach, hubOn, tempDir, waitFor } from './helpers.js';
import { remoteScripts, sshdAvailable, sshdWithHub } from './sshd.js';

const cli = cliKilledAfterEach();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long a wait for what a follower (and sshd) does may take on a loaded machine: a condition's deadline, not a pause. */
const LONG = 90_000;

/**
 * Where the remote script following `path` has read the file to (its fd 3, shared with the `cat`
 * that reads it: /proc/<pid>/fdinfo/3), once it is past its header (fd 4 is its stdin, taken right
 * after the header went out); undefined before. The sshd is on this machine: its processes are ours to look at.
 */
function remoteRead(path: string): number | undefined {
  for (const pid of remoteScripts(path)) {
    try {
      if (!existsSync(`/proc/${pid}/fd/4`)) continue;
      const pos = /^pos:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/3`, 'utf8'));
      if (pos) return Number(pos[1]);
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

/** The pids of the `sleep`s the remote scripts of `path` wait in between two looks. */
function remoteSleeps(path: string): number[] {
  return remoteScripts(path).flatMap((pid) => {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
      return children.filter((child) => readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'sleep');
    } catch {
      return [];
    }
  });
}

/**
 * The remote script has read `bytes` bytes of the file and finished that look (its first-bytes
 * fingerprint taken of them, which tells a truncation from growth): a sleep begun after the read.
 */
async function remoteLooked(path: string, bytes: number): Promise<void> {
  await waitFor(() => ((remoteRead(path) ?? 0) >= bytes ? true : undefined), LONG, `the remote side to read ${bytes} bytes`);
  const before = new Set(remoteSleeps(path));
  await waitFor(() => remoteSleeps(path).some((pid) => !before.has(pid)) || undefined, LONG, 'the remote side to end that look');
}

describe('a restart against a young file replaced while the follower was stopped', () => {
  it('locally: says what could not be read instead of reading the new file as if it were the old one grown', async () => {
    const dir = tempDir();
    const path = join(dir, 'app.log');
    const data = join(dir, 'data');
    writeFileSync(path, '');
    const run = 'young-local';
    const hub = await hubOn(tempDir());
    try {
      const start = () => cli(['follow', path, '--run', run, '--hub', hub.url, '--data', data, '--partial-timeout', '1h', '--poll', '50ms']);
      const first = start();
      await waitFor(() => loadCheckpoint(checkpointPath(data, run))?.files.length || undefined, LONG, 'the first checkpoint');
      appendFileSync(path, 'epoch 1/10 loss=');
      await sleep(1000); // read (held: no line yet)
      first.child.kill('SIGTERM');
      expect((await first).code).toBe(0);
      expect(loadCheckpoint(checkpointPath(data, run))?.files).toMatchObject([{ offset: 0 }]);
      writeFileSync(path, 'another job\nits second line\n'); // O_TRUNC: the same inode, other first bytes
      const second = start();
      await waitFor(async () => ((await (await fetch(`${hub.url}/api/runs/${run}/logs`)).json()) as { logs: unknown[] }).logs.length >= 3 || undefined, LONG, 'the new lines');
      second.child.kill('SIGTERM');
      expect((await second).code).toBe(0);
      const { logs } = (await (await fetch(`${hub.url}/api/runs/${run}/logs`)).json()) as { logs: { source: string; message: string }[] };
      expect(logs.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(['another job', 'its second line']);
      expect(logs.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([
        `${path}: changed while nobody followed it (truncated, replaced, deleted, or moved out of its directory): 16 bytes after byte 0, and whatever was written after them, could not be read`,
      ]);
    } finally {
      await hub.close();
    }
  });
});

describe.skipIf(!sshdAvailable())('a young remote file (no whole line yet) replaced (a real sshd)', () => {
  const env = sshdWithHub();

  it('over ssh: says what could not be read instead of reading the new file as if it were the old one grown', async () => {
    const path = join(env.sshd.dir, 'young.log');
    const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
    const run = 'young-ssh';
    const data = tempDir();
    writeFileSync(path, '');
    const start = () => cli(['follow', url, '--run', run, '--hub', env.hub.url, '--data', data, '--ssh-option', env.sshd.sshOption, '--partial-timeout', '1h']);
    const first = start();
    // its header is out: the file is known empty
    await waitFor(() => (remoteRead(path) === 0 ? true : undefined), LONG, 'the first session');
    appendFileSync(path, 'epoch 1/10 loss=');
    await remoteLooked(path, 16); // sent (held: no line yet)
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);
    expect(loadCheckpoint(checkpointPath(data, run))?.files).toMatchObject([{ offset: 0 }]);
    writeFileSync(path, 'another job\nits second line\n');
    const second = start();
    await waitFor(async () => (await env.records(run)).some((r) => r.message === 'its second line') || undefined, LONG, 'the new lines');
    second.child.kill('SIGTERM');
    expect((await second).code).toBe(0);
    const all = await env.records(run);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(['another job', 'its second line']);
    // the same words as the local follower's above
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([
      `${url}: changed while nobody followed it (truncated, replaced, deleted, or moved out of its directory): 16 bytes after byte 0, and whatever was written after them, could not be read`,
    ]);
  }, 4 * LONG);
  it('while following: sees a file with no whole line yet truncated and written again past the offset, and mixes no old and new bytes', async () => {
    const path = join(env.sshd.dir, 'young-live.log');
    const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
    const run = 'young-ssh-live';
    writeFileSync(path, '');
    const follower = cli(['follow', url, '--run', run, '--hub', env.hub.url, '--data', tempDir(), '--ssh-option', env.sshd.sshOption, '--partial-timeout', '1h']);
    await waitFor(() => (remoteRead(path) === 0 ? true : undefined), LONG, 'the first session');
    appendFileSync(path, 'epoch 1/10 loss=');
    await remoteLooked(path, 16); // read (held: no line yet)
    writeFileSync(path, 'another job\nits second line\n'); // longer than what was read: no shorter size to see
    await waitFor(async () => (await env.records(run)).some((r) => r.message === 'its second line') || undefined, LONG, 'the new lines');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    const all = await env.records(run);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(['epoch 1/10 loss=', 'another job', 'its second line']);
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([
      `${url}: truncated; lines written after byte 16 before the truncation could not be read (no rotated copy found)`,
    ]);
  }, 4 * LONG);
});
