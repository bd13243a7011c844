/**
 * A real sshd (Debian's openssh-server) on 127.0.0.1 with its own host key and a client key made
 * for it: what the ssh tests (test/sshd.ts) and the follow benchmark (bench/follow.js) follow
 * `ssh://root@127.0.0.1:PORT/…` through. Plain JS (with sshd-server.d.ts) so that bench, run by
 * node without a build, and the TypeScript tests start the very same server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

/** A TCP port nobody listens on now, on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The sshd_config: keys only, root allowed (the tests run as root), nothing from /etc/ssh. */
export function sshdConfig(dir, port) {
  return [
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
  ].join('\n');
}

/**
 * Makes the keys and the config in `dir` and starts sshd in the foreground (-D, log on stderr);
 * resolves once it listens. The caller stops it (process.kill).
 */
export async function startSshdIn(dir, timeoutMs = 10_000) {
  mkdirSync(dir, { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  copyFileSync(join(dir, 'client_key.pub'), join(dir, 'authorized_keys'));
  const port = await freePort();
  writeFileSync(join(dir, 'sshd_config'), sshdConfig(dir, port));
  mkdirSync('/run/sshd', { recursive: true }); // the privilege separation directory Debian's sshd wants
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => (log += chunk.toString()));
  const deadline = Date.now() + timeoutMs;
  while (!log.includes('Server listening')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not listen (${log.trim() || `exit ${child.exitCode}`})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const sshOption = `-i ${join(dir, 'client_key')} -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR`;
  return { process: child, port, sshOption, dir };
}
