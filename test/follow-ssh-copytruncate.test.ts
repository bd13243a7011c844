/**
 * `runlog follow ssh://…` under a copytruncate writer, against a real sshd (test/env.sshd.ts): a
 * truncation made between two sessions, while the connection is made again. To put it exactly
 * there, `ssh` is a wrapper (first in PATH) that runs a hook before a given connection.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPath, loadCheckpoint } from '../src/sources/file/checkpoint.js';
import { cliKilledAfterEach, tempDir, waitFor } from './helpers.js';
import { numberedBlock, numberedLines, remoteScripts, sshdAvailable, sshdWithHub, sshWithHook } from './sshd.js';

const cli = cliKilledAfterEach();

describe.skipIf(!sshdAvailable())('runlog follow ssh://… with copytruncate between two sessions (a real sshd)', () => {
  const env = sshdWithHub();

  const records = (run: string) => env.records(run);

  it('restarted after a copytruncate, then truncated again as it connects for the name: the second copy read whole, no line lost', async () => {
    const dir = join(env.sshd.dir, 'twice');
    mkdirSync(dir);
    const path = join(dir, 'app.log');
    const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
    const run = 'ssh-copytruncate-reconnect';
    const data = tempDir();
    const start = (vars: NodeJS.ProcessEnv = {}) => cli(['follow', url, '--run', run, '--hub', env.hub.url, '--data', data, '--ssh-option', env.sshd.sshOption], vars);

    writeFileSync(path, numberedBlock(1, 40));
    const first = start();
    await waitFor(async () => (await records(run)).length >= 40 || undefined, 20_000, '40 lines');
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);

    // copytruncate while nobody follows: 41–60 only in app.log.1. The restarted follower's first
    // session sends them from the copy and names the file under the name (61–80) as the next one;
    // before its second session begins, the name is copied again and truncated: 61–100 only in
    // app.log.2 (the hook runs as that connection is made)
    writeFileSync(path, numberedBlock(1, 60));
    writeFileSync(`${path}.1`, numberedBlock(1, 60));
    writeFileSync(path, numberedBlock(61, 80));
    const more = join(tempDir(), 'more');
    writeFileSync(`${more}-a`, numberedBlock(81, 100));
    writeFileSync(`${more}-b`, numberedBlock(101, 120));
    const bin = sshWithHook(2, `cat '${more}-a' >> '${path}'; cp '${path}' '${path}.2'; : > '${path}'; cat '${more}-b' >> '${path}'\n`);

    const second = start({ PATH: `${bin}:${process.env.PATH ?? ''}` });
    await waitFor(async () => (await records(run)).some((r) => r.message === numberedLines(120, 120)[0]) || undefined, 30_000, 'line 120');
    second.child.kill('SIGTERM');
    expect((await second).code).toBe(0);
    const all = await records(run);
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(numberedLines(1, 120));
  });

  it('restarted after a copytruncate of a file nothing of which it had read: the copy read whole, not an older one', async () => {
    const dir = join(env.sshd.dir, 'unread');
    mkdirSync(dir);
    const path = join(dir, 'app.log');
    const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
    const run = 'ssh-copytruncate-unread';
    const data = tempDir();
    const start = () => cli(['follow', url, '--run', run, '--hub', env.hub.url, '--data', data, '--ssh-option', env.sshd.sshOption]);
    writeFileSync(`${path}.1`, 'an older rotation, read before\n');
    writeFileSync(path, '');
    const first = start();
    await waitFor(() => remoteScripts(path).length > 0 || undefined, 20_000, 'the first session');
    await new Promise((r) => setTimeout(r, 500)); // its header is out: the follower knows the file, empty
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);
    expect(loadCheckpoint(checkpointPath(data, run))?.files).toMatchObject([{ offset: 0, fp_len: 0, siblings: [expect.any(String)] }]);

    // written and copytruncated while nobody follows (logrotate: .1 to .2, the copy to .1): 1–20 only in the copy
    writeFileSync(path, numberedBlock(1, 20));
    renameSync(`${path}.1`, `${path}.2`);
    writeFileSync(`${path}.1`, numberedBlock(1, 20));
    writeFileSync(path, numberedBlock(21, 40));
    const second = start();
    await waitFor(async () => (await records(run)).some((r) => r.message === numberedLines(40, 40)[0]) || undefined, 30_000, 'line 40');
    second.child.kill('SIGTERM');
    expect((await second).code).toBe(0);
    const all = await records(run);
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(numberedLines(1, 40));
  });
});
