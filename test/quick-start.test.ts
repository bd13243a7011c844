/**
 * The README's quick start, `npm start`: the hub and its web UI answer, and stopping npm (SIGTERM,
 * as a process manager or `kill` does) stops the hub too. npm runs the script under `sh -c`,
 * which does not pass the signal on: without `exec` in the script the hub was left running,
 * holding the port and the store.
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir, waitFor } from './helpers.js';

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** The pids under `pid` (npm → sh → node), to end them if the test fails and leaves them. */
function descendants(pid: number): number[] {
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

describe('npm start', () => {
  it('serves the hub and its UI, and SIGTERM to npm stops the hub', { timeout: 60_000 }, async () => {
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUNLOG_PORT: '0', RUNLOG_HOST: '127.0.0.1', RUNLOG_DATA: tempDir('runlog-npm-start-'), RUNLOG_HUB: '' },
    });
    let output = '';
    let started: number[] = [];
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(output)?.[1], 30_000, `npm start listening (${output})`);
      expect(await answers(url)).toBe(true);
      started = descendants(npm.pid!);
      const page = await fetch(`${url}/`);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      npm.kill('SIGTERM');
      await waitFor(async () => ((await answers(url)) ? undefined : true), 15_000, 'the hub to stop after SIGTERM to npm');
    } finally {
      npm.kill('SIGKILL');
      for (const pid of started) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already ended, as it should have
        }
      }
    }
  });
});
