/**
 * A task reads no stdin. A worker's stdin is often a pipe that never ends (`ssh host runlog worker
 * …`, a supervisor, `docker run -i`): before, every task inherited it, so a task that read its
 * stdin (`cat`, `input()`, a tool asking a question) waited forever, its run `running` and the
 * worker claiming nothing more. Likewise a setup step of `runlog run` read the stdin meant for
 * the command.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { CLI, getJson, hubOn, tempDir } from './helpers.js';

let hub: RunningHub | undefined;
const started: import('node:child_process').ChildProcess[] = [];

afterEach(async () => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
  await hub?.close().catch(() => {});
  hub = undefined;
});

describe('stdin of tasks and setup steps', () => {
  it("gives a worker's task no stdin when the worker's own is a pipe that stays open", async () => {
    hub = await hubOn(tempDir());
    // the worker's stdin: a pipe this test holds open and never writes to
    const worker = spawn(process.execPath, [CLI, 'worker', '--id', 'w-stdin', '--hub', hub.url, '--heartbeat', '1', '--poll', '100ms', '--data', tempDir()], {
      env: { ...process.env, RUNLOG_HUB: '' },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    started.push(worker);
    const submitted = await fetch(`${hub.url}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'reads-stdin', command: ['/bin/sh', '-c', 'cat; echo after-cat'] }),
    });
    expect(submitted.status).toBe(201);
    const { body } = await getJson<{ success: boolean; stdout: string } | null>(`${hub.url}/api/runs/reads-stdin/response?wait=20`);
    expect(body).toMatchObject({ success: true });
    expect(body?.stdout).toContain('after-cat');
  }, 30_000);

  it('leaves what is piped to runlog run to the command, not to a setup step', async () => {
    const runner = spawn(process.execPath, [CLI, 'run', '--hub', 'none', '--data', tempDir(), '--setup', 'cat; echo setup-done', '--', '/bin/cat'], {
      env: { ...process.env, RUNLOG_HUB: '' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    started.push(runner);
    let stdout = '';
    runner.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    runner.stdin.end('piped\n');
    const code = await new Promise((resolve) => runner.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual(['setup-done', 'piped', '']);
  });
});
