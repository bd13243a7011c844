/**
 * `runlog follow ssh://…` started before its file exists (the follower started with the job): the
 * remote side waits for the file within its session instead of the follower connecting again with
 * a backoff that grows to 10 s (the first lines were up to 10 s late, and a file rotated away in
 * that time was never read, unsaid). Against a real sshd (test/env.sshd.ts).
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliKilledAfterEach, tempDir, waitFor } from './helpers.js';
import { numberedBlock, numberedLines, remoteScripts, sshdAvailable, sshdWithHub } from './sshd.js';

const cli = cliKilledAfterEach();

describe.skipIf(!sshdAvailable())('runlog follow ssh://… of a file not there yet (a real sshd)', () => {
  const env = sshdWithHub();

  const messages = async (run: string) => (await env.records(run)).map((r) => r.message);

  /** A follower of `name` (not there) into `run`, once it said it waits for the file. */
  async function followMissing(name: string, run: string, flags: string[] = []) {
    const path = join(env.sshd.dir, name);
    // a follower connecting again only every 9 s would not see a file made in between for that long
    const follower = cli(['follow', `ssh://root@127.0.0.1:${env.sshd.port}${path}`, '--run', run, '--hub', env.hub.url, '--data', tempDir(), '--ssh-option', env.sshd.sshOption, ...flags], {
      RUNLOG_SSH_RETRY_MS: '9000',
    });
    let said = '';
    follower.child.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await waitFor(() => /no such file yet; it is read once it appears/.test(said) || undefined, 20_000, 'the first look for the name');
    return { path, follower };
  }

  it('reads a file rotated away just after it appeared (issue 11: no line lost unsaid), then the new one', async () => {
    const { path, follower } = await followMissing('appears.log', 'ssh-appears');
    const waiting = remoteScripts(path);
    writeFileSync(path, numberedBlock(1, 5));
    // the session that waited saw the file (and ended): now it is rotated before anyone read it
    await waitFor(() => waiting.every((pid) => !remoteScripts(path).includes(pid)) || undefined, 20_000, 'the waiting session to see the file');
    renameSync(path, `${path}.1`);
    writeFileSync(path, numberedBlock(6, 10));
    await waitFor(async () => (await messages('ssh-appears')).length >= 10 || undefined, 30_000, '10 lines');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    expect(await messages('ssh-appears')).toEqual(numberedLines(1, 10));
  });

  it('with --from-end, reads whole a file that appears after it started (a new file)', async () => {
    const { path, follower } = await followMissing('appears-end.log', 'ssh-appears-end', ['--from-end']);
    writeFileSync(path, numberedBlock(1, 5));
    await waitFor(async () => (await messages('ssh-appears-end')).length >= 5 || undefined, 30_000, '5 lines');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    expect(await messages('ssh-appears-end')).toEqual(numberedLines(1, 5));
  });
  it('its file deleted, then made again and rotated away before it was read: reads the old one, the made one, then the new one', async () => {
    const path = join(env.sshd.dir, 'gone.log');
    writeFileSync(path, numberedBlock(1, 5));
    const follower = cli(['follow', `ssh://root@127.0.0.1:${env.sshd.port}${path}`, '--run', 'ssh-gone', '--hub', env.hub.url, '--data', tempDir(), '--ssh-option', env.sshd.sshOption], {
      RUNLOG_SSH_RETRY_MS: '9000',
    });
    let said = '';
    follower.child.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await waitFor(async () => (await messages('ssh-gone')).length >= 5 || undefined, 30_000, '5 lines');
    unlinkSync(path);
    // the session reads the deleted file on for 2 s, then the next one waits for the name
    await waitFor(() => /no such file yet; it is read once it appears/.test(said) || undefined, 20_000, 'the look for the name');
    const waiting = remoteScripts(path);
    writeFileSync(path, numberedBlock(6, 10));
    await waitFor(() => waiting.every((pid) => !remoteScripts(path).includes(pid)) || undefined, 20_000, 'the waiting session to see the file');
    renameSync(path, `${path}.1`);
    writeFileSync(path, numberedBlock(11, 15));
    await waitFor(async () => (await messages('ssh-gone')).length >= 15 || undefined, 30_000, '15 lines');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    expect(await messages('ssh-gone')).toEqual(numberedLines(1, 15));
  });
  it('stopped while it waits for the file, exits 0 and leaves no script waiting on the host', async () => {
    const { path, follower } = await followMissing('never.log', 'ssh-never');
    await waitFor(() => remoteScripts(path).length > 0 || undefined, 20_000, 'the waiting session');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    await waitFor(() => remoteScripts(path).length === 0 || undefined, 5_000, 'the waiting script to end');
  });
});
