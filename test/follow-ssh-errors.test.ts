/**
 * What `runlog follow ssh://…` says when ssh cannot get through: ssh's own message, one stderr
 * line each time, prefixed `runlog:` (ssh's second line used to start a line of its own,
 * unprefixed). The "host" is a TCP port that accepts and never speaks (a hung sshd, a firewall
 * that swallows the banner).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cliKilledAfterEach, hubOn, tempDir, waitFor } from './helpers.js';

/** the followers this file started are killed after each test */
const cli = cliKilledAfterEach();

let hub: RunningHub | undefined;
let silent: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  silent?.close();
  await hub?.close();
});

describe('runlog follow over ssh, the host never answering', () => {
  it('says each failed connection on one line of its own, prefixed, and stops with exit 0 on SIGTERM', async () => {
    hub = await hubOn(tempDir());
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const follower = cli([
      'follow', `ssh://127.0.0.1:${port}/tmp/run.log`, '--run', 'ssh-silent', '--hub', hub.url, '--data', tempDir(),
      '--ssh-option', '-o ConnectTimeout=1 -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no',
    ], { RUNLOG_SSH_RETRY_MS: '100' });
    let stderr = '';
    follower.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => (stderr.match(/connecting again/g)?.length ?? 0) >= 2 || undefined, 30_000, 'two failed connections said');
    follower.child.kill('SIGTERM');
    expect((await follower).code).toBe(0);
    const lines = stderr.trimEnd().split('\n');
    expect(lines.filter((line) => !line.startsWith('runlog: '))).toEqual([]);
    expect(lines[0]).toMatch(/^runlog: ssh:\/\/127\.0\.0\.1:\d+\/tmp\/run\.log: .*banner exchange.*; connecting again in \d+ ms$/);
  });
});
