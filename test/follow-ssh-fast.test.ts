/**
 * `runlog follow ssh://…` while the name is replaced faster than the remote side moves on (it
 * reads the old file for 2 s after the name points elsewhere): a file made and deleted meanwhile
 * is never read, and that must be said (issue 11: never silently skipped), also when the next
 * file took its inode number (ext4 reuses a freed one at once); a follower stopped then reads the
 * files after the old one too (a complete final log). Against a real sshd (test/env.sshd.ts).
 */
import { appendFileSync, mkdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliKilledAfterEach, tempDir, waitFor } from './helpers.js';
import { numberedBlock, numberedLines, sshdAvailable, sshdWithHub, sshWithHook } from './sshd.js';

const cli = cliKilledAfterEach();

describe.skipIf(!sshdAvailable())('runlog follow ssh://… of a name replaced faster than every 2 s (a real sshd)', () => {
  const env = sshdWithHub();

  const records = (run: string) => env.records(run);

  it('says the loss of a file deleted before it was read, whose inode number the next file took', async () => {
    const path = join(env.sshd.dir, 'fast.log');
    writeFileSync(path, numberedBlock(1, 5));
    const follower = cli(['follow', `ssh://root@127.0.0.1:${env.sshd.port}${path}`, '--run', 'ssh-fast', '--hub', env.hub.url, '--data', tempDir(), '--ssh-option', env.sshd.sshOption]);
    await waitFor(async () => (await records('ssh-fast')).length >= 5 || undefined, 30_000, '5 lines');
    // the session reads the deleted file on for 2 s from when it sees the name's new file (looks
    // every 0.1 s): that one is deleted 1 s later, and the file after it made at once
    unlinkSync(path);
    writeFileSync(path, numberedBlock(6, 10));
    await new Promise((r) => setTimeout(r, 1000));
    unlinkSync(path);
    writeFileSync(path, numberedBlock(11, 15));
    await waitFor(async () => (await records('ssh-fast')).filter((r) => r.source === 'file').length >= 10 || undefined, 30_000, '10 lines');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    const all = await records('ssh-fast');
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual([...numberedLines(1, 5), ...numberedLines(11, 15)]);
    const said = all.filter((r) => r.source === 'system').map((r) => r.message);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/deleted before it could be read.*its lines could not be read/);
  });
  it('says a file was deleted, not "truncated again", when the next file is gone unread and a new one took its inode number as the connection was made again', async (context) => {
    const dir = join(env.sshd.dir, 'reborn');
    mkdirSync(dir);
    const path = join(dir, 'app.log');
    const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
    writeFileSync(path, numberedBlock(1, 5));
    const more = join(tempDir(), 'more');
    writeFileSync(more, numberedBlock(13, 15));
    // as the second session is made (after the rotation below), the name's file is deleted unread and
    // made again: ext4 gives the new file the freed inode number, and other first bytes
    const bin = sshWithHook(2, `rm -f '${path}'; cat '${more}' > '${path}'\n`);
    const follower = cli(['follow', url, '--run', 'ssh-reborn', '--hub', env.hub.url, '--data', tempDir(), '--ssh-option', env.sshd.sshOption], { PATH: `${bin}:${process.env.PATH ?? ''}` });
    await waitFor(async () => (await records('ssh-reborn')).length >= 5 || undefined, 30_000, '5 lines');
    appendFileSync(path, numberedBlock(6, 8));
    renameSync(path, `${path}.1`);
    writeFileSync(path, numberedBlock(9, 12));
    const unread = statSync(path).ino;
    await waitFor(async () => (await records('ssh-reborn')).some((r) => r.message === numberedLines(15, 15)[0]) || undefined, 30_000, 'line 15');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    // a file system that does not hand inode numbers out again cannot show this
    if (statSync(path).ino !== unread) return context.skip();
    const all = await records('ssh-reborn');
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual([...numberedLines(1, 8), ...numberedLines(13, 15)]);
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([
      `${url}: a file that was under its name (inode ${unread}) was deleted before it could be read, and a new file took its inode number: its lines could not be read`,
    ]);
  });

  it('stopped with --end-on-exit just after a rotation, reads the old file to its end and the new one before it ends the run', async () => {
    const path = join(env.sshd.dir, 'last.log');
    writeFileSync(path, numberedBlock(1, 5));
    const follower = cli(['follow', `ssh://root@127.0.0.1:${env.sshd.port}${path}`, '--run', 'ssh-last', '--hub', env.hub.url, '--data', tempDir(), '--ssh-option', env.sshd.sshOption, '--end-on-exit']);
    await waitFor(async () => (await records('ssh-last')).length >= 5 || undefined, 30_000, '5 lines');
    // the job's last lines, its log rotated, a few more lines in the new file, and the job's end
    appendFileSync(path, numberedBlock(6, 8));
    renameSync(path, `${path}.1`);
    writeFileSync(path, numberedBlock(9, 12));
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    const all = await records('ssh-last');
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(numberedLines(1, 12));
    expect(((await (await fetch(`${env.hub.url}/api/runs/ssh-last`)).json()) as { status: string }).status).toBe('completed');
  });
});
