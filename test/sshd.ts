/**
 * A real sshd (Debian's openssh-server) for the tests of `runlog follow ssh://…`: started on
 * 127.0.0.1 with its own host key and an authorized key made for the test. Skipped when sshd is
 * absent or this is not root, failed instead with RUNLOG_TEST_STRICT=1.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { hubOn, tempDir } from './helpers.js';
import { freePort, SSHD, startSshdIn, type Sshd } from './sshd-server.js';

/** Can the sshd tests run here? (says why not, or throws under RUNLOG_TEST_STRICT=1) */
export function sshdAvailable(): boolean {
  const available = existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen') && process.getuid?.() === 0;
  if (!available) {
    const why = `sshd tests skipped: ${existsSync(SSHD) ? 'they start sshd as root and this is not root' : `${SSHD} is missing (apt-get install openssh-server)`}`;
    if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(why);
    console.warn(why);
  }
  return available;
}

export { freePort, type Sshd };

/** An sshd of its own (sshd-server.js, which bench/follow.js starts too), in a fresh directory. */
export function startSshd(): Promise<Sshd> {
  return startSshdIn(tempDir('runlog-sshd-'));
}

/** The pids of the scripts that follow `path` on the "remote" side (remote.ts starts with `f='<path>';`). */
export function remoteScripts(path: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', '--', `f='${path}';`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

/** `line N é` for N from `from` to `to` (a character of two bytes: offsets are counted in bytes). */
export function numberedLines(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, k) => `line ${from + k} é`);
}

/** numberedLines as a file's text, each line ended. */
export function numberedBlock(from: number, to: number): string {
  return numberedLines(from, to).map((line) => `${line}\n`).join('');
}

/** A directory with an `ssh` that runs `hook` (sh) before its connection number `at`, then the real ssh. */
export function sshWithHook(at: number, hook: string): string {
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

export interface SshdWithHub {
  sshd: Sshd;
  hub: RunningHub;
  /** a run's lines on the hub (none while it does not know the run) */
  records(run: string): Promise<WireRecord[]>;
}

/** An sshd and a hub for a describe block: started before its tests, stopped after them. */
export function sshdWithHub(): SshdWithHub {
  const env = {
    async records(run: string): Promise<WireRecord[]> {
      const response = await fetch(`${env.hub.url}/api/runs/${run}/logs?limit=10000`);
      return response.ok ? ((await response.json()) as { logs: WireRecord[] }).logs : [];
    },
  } as SshdWithHub;
  beforeAll(async () => {
    env.sshd = await startSshd();
    env.hub = await hubOn(tempDir());
  });
  afterAll(async () => {
    env.sshd?.process.kill('SIGTERM');
    await env.hub?.close();
  });
  return env;
}
