/**
 * Text another token holder chose, printed on a runner's or a worker's own terminal:
 * - who cancelled (`by`): any token that may cancel set it, and `runlog run` printed
 *   "run X cancelled by <by>" raw on its user's terminal, so another team's write token could write
 *   that terminal's clipboard (OSC 52) or title. The hub now refuses such a name (400 naming `by`).
 * - a task's command: the worker printed "claimed task X: <command>" raw on its terminal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cli, getJson, hubOn, startHubProcess, tempDir, waitFor } from './helpers.js';

const OSC52 = '\x1b]52;c;cm0gLXJmIH4=\x07';

describe('names and commands from other token holders, on a terminal', () => {
  let hub: RunningHub;
  const post = (path: string, body: unknown) => fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => hub.close());

  it('refuses a cancel whose `by` holds control or bidi characters, naming the field, and cancels nothing', async () => {
    expect((await post('/api/tasks', { id: 'by-task', command: ['true'] })).status).toBe(201);
    for (const by of [`mallory${OSC52}`, 'x\x9b2J', 'a\u202eb', 'line\nbreak']) {
      const refused = await post('/api/runs/by-task/cancel', { by });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { field: string }).field).toBe('by');
    }
    expect((await getJson<{ status: string }>(`${hub.url}/api/runs/by-task`)).body.status).toBe('queued');
    const taken = await post('/api/runs/by-task/cancel', { by: 'alice@gpu-3' });
    expect(((await taken.json()) as { status: string }).status).toBe('cancelled');
  });

  it("prints a task's command on the worker's terminal without its escape sequences", async () => {
    expect((await post('/api/tasks', { id: 'esc-task', command: ['echo', `a${OSC52}b\x1b[2J`] })).status).toBe(201);
    const worker = cli(['worker', '--id', 'w-esc', '--hub', hub.url, '--heartbeat', '1', '--data', tempDir()]);
    try {
      await waitFor(async () => {
        const { body } = await getJson<{ status: string }>(`${hub.url}/api/runs/esc-task`);
        return body.status === 'completed' ? true : undefined;
      }, 20_000, 'the task to complete');
    } finally {
      worker.child.kill('SIGTERM');
    }
    const { stderr } = await worker;
    expect(stderr).toContain('claimed task esc-task: echo');
    expect(stderr).not.toContain('\x1b');
  });
});

describe("the hub's audit lines", () => {
  it('write a submitted command with its C1 and bidi controls escaped', async () => {
    const hub = await startHubProcess(['--data', tempDir()]);
    let stderr = '';
    hub.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const body = { id: 'audit-task', command: ['echo', 'a\x9b2Jb\u202ec\x1b]0;t\x07'] };
      const response = await fetch(`${hub.url}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(201);
      await waitFor(() => (stderr.includes('task.submit') ? true : undefined), 10_000, 'the audit line');
    } finally {
      hub.child.kill('SIGTERM');
    }
    const line = stderr.split('\n').find((l) => l.includes('task.submit')) ?? '';
    expect(line).toContain('\\u009b2Jb\\u202ec\\u001b]0;t\\u0007');
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e]/);
  });
});
