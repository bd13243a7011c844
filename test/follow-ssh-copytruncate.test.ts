/**
 * `runlog follow ssh://…` under a copytruncate writer, against a real sshd (test/sshd.ts): a
 * truncation made between two sessions, while the connection is made again. To put it exactly
 * there, `ssh` is a wrapper (first in PATH) that runs a hook before a given connection.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { checkpointPath, loadCheckpoint } from '../src/sources/file/checkpoint.js';
import { cliKilledAfterEach, hubOn, tempDir, waitFor } from './helpers.js';
import { remoteScripts, sshdAvailable, startSshd, type Sshd } from './sshd.js';

const cli = cliKilledAfterEach();

function lines(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, k) => `line ${from + k} é ${'x'.repeat((from + k) % 30)}`);
}

function block(from: number, to: number): string {
  return lines(from, to).map((line) => `${line}\n`).join('');
}

/** A directory with an `ssh` that runs `hook` (sh) before its connection number `at`, then the real ssh. */
function sshWithHook(at: number, hook: string): string {
  const bin = tempDir('runlog-ssh-hook-');
  const count = join(bin, 'count');
  writeFileSync(join(bin, 'hook.sh'), hook);
  writeFileSync(
    join(bin, 'ssh'),
    `#!/bin/sh\nn=$(($(cat '${count}' 2>/dev/null || echo 0) + 1)); echo $n > '${count}'\n[ $n -eq ${at} ] && sh '${join(bin, 'hook.sh')}'\nexec /usr/bin/ssh "$@"\n`,
  );
  chmodSync(join(bin, 'ssh'), 0o755);
  return bin;
}

describe.skipIf(!sshdAvailable())('runlog follow ssh://… with copytruncate between two sessions (a real sshd)', () => {
  let sshd: Sshd;
  let hub: RunningHub;

  beforeAll(async () => {
    sshd = await startSshd();
    hub = await hubOn(tempDir());
  });

  afterAll(async () => {
    sshd?.process.kill('SIGTERM');
    await hub?.close();
  });

  async function records(run: string): Promise<WireRecord[]> {
    const response = await fetch(`${hub.url}/api/runs/${run}/logs?limit=10000`);
    return response.ok ? ((await response.json()) as { logs: WireRecord[] }).logs : [];
  }

  it('restarted after a copytruncate, then truncated again as it connects for the name: the second copy read whole, no line lost', async () => {
    const dir = join(sshd.dir, 'twice');
    mkdirSync(dir);
    const path = join(dir, 'app.log');
    const url = `ssh://root@127.0.0.1:${sshd.port}${path}`;
    const run = 'ssh-copytruncate-reconnect';
    const data = tempDir();
    const start = (env: NodeJS.ProcessEnv = {}) => cli(['follow', url, '--run', run, '--hub', hub.url, '--data', data, '--ssh-option', sshd.sshOption], env);

    writeFileSync(path, block(1, 40));
    const first = start();
    await waitFor(async () => (await records(run)).length >= 40 || undefined, 20_000, '40 lines');
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);

    // copytruncate while nobody follows: 41–60 only in app.log.1. The restarted follower's first
    // session sends them from the copy and names the file under the name (61–80) as the next one;
    // before its second session begins, the name is copied again and truncated: 61–100 only in
    // app.log.2 (the hook runs as that connection is made)
    writeFileSync(path, block(1, 60));
    writeFileSync(`${path}.1`, block(1, 60));
    writeFileSync(path, block(61, 80));
    const more = join(tempDir(), 'more');
    writeFileSync(`${more}-a`, block(81, 100));
    writeFileSync(`${more}-b`, block(101, 120));
    const bin = sshWithHook(2, `cat '${more}-a' >> '${path}'; cp '${path}' '${path}.2'; : > '${path}'; cat '${more}-b' >> '${path}'\n`);

    const second = start({ PATH: `${bin}:${process.env.PATH ?? ''}` });
    await waitFor(async () => (await records(run)).some((r) => r.message === lines(120, 120)[0]) || undefined, 30_000, 'line 120');
    second.child.kill('SIGTERM');
    expect((await second).code).toBe(0);
    const all = await records(run);
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(lines(1, 120));
  });

  it('restarted after a copytruncate of a file nothing of which it had read: the copy read whole, not an older one', async () => {
    const dir = join(sshd.dir, 'unread');
    mkdirSync(dir);
    const path = join(dir, 'app.log');
    const url = `ssh://root@127.0.0.1:${sshd.port}${path}`;
    const run = 'ssh-copytruncate-unread';
    const data = tempDir();
    const start = () => cli(['follow', url, '--run', run, '--hub', hub.url, '--data', data, '--ssh-option', sshd.sshOption]);
    writeFileSync(`${path}.1`, 'an older rotation, read before\n');
    writeFileSync(path, '');
    const first = start();
    await waitFor(() => remoteScripts(path).length > 0 || undefined, 20_000, 'the first session');
    await new Promise((r) => setTimeout(r, 500)); // its header is out: the follower knows the file, empty
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);
    expect(loadCheckpoint(checkpointPath(data, run))?.files).toMatchObject([{ offset: 0, fp_len: 0, siblings: [expect.any(String)] }]);

    // written and copytruncated while nobody follows (logrotate: .1 to .2, the copy to .1): 1–20 only in the copy
    writeFileSync(path, block(1, 20));
    renameSync(`${path}.1`, `${path}.2`);
    writeFileSync(`${path}.1`, block(1, 20));
    writeFileSync(path, block(21, 40));
    const second = start();
    await waitFor(async () => (await records(run)).some((r) => r.message === lines(40, 40)[0]) || undefined, 30_000, 'line 40');
    second.child.kill('SIGTERM');
    expect((await second).code).toBe(0);
    const all = await records(run);
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual([]);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(lines(1, 40));
  });
});
