/**
 * A real sshd (Debian's openssh-server) for the tests of `runlog follow ssh://…`: started on
 * 127.0.0.1 with its own host key and an authorized key made for the test. Skipped when sshd is
 * absent or this is not root, failed instead with RUNLOG_TEST_STRICT=1.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { hubOn, tempDir, waitFor } from './helpers.js';

const SSHD = '/usr/sbin/sshd';

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

export interface Sshd {
  process: ChildProcess;
  port: number;
  /** --ssh-option for runlog follow: the test's key, no known_hosts */
  sshOption: string;
  /** a directory the tests' "remote" files go in */
  dir: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startSshd(): Promise<Sshd> {
  const dir = tempDir('runlog-sshd-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  execFileSync('cp', [join(dir, 'client_key.pub'), join(dir, 'authorized_keys')]);
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${join(dir, 'sshd.pid')}`,
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory Debian's sshd wants
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await waitFor(() => log.includes('Server listening') || undefined, 10_000, `sshd to listen (${log})`);
  const sshOption = `-i ${join(dir, 'client_key')} -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR`;
  return { process: child, port, sshOption, dir };
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
