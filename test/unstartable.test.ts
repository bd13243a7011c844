/**
 * A command that spawn refuses outright (it throws instead of emitting 'error': a NUL byte in an
 * argument or in the environment, E2BIG) ends its run failed with the cause, as a command that is
 * not found does. Before, the runner threw: `runlog run` left its run `running`, and a worker logged
 * "task X could not run" and heartbeated on, idle, beside a run that never ended.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Runner } from '../src/agent/runner.js';
import { databaseFile } from '../src/core/config.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { StoreSink } from '../src/sinks/store.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import type { Run } from '../src/store/store.js';
import { cli, getJson, tempDir, waitFor, type CliResult } from './helpers.js';

let hubs: RunningHub[] = [];
let workers: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];

afterEach(async () => {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await Promise.all(hubs.map((hub) => hub.close().catch(() => {})));
  hubs = [];
  workers = [];
});

describe('a command spawn refuses', () => {
  it('runlog run: the run ends failed (exit 127) with the cause, and an env value is never quoted', async () => {
    const dataDir = tempDir();
    const store = new SqliteStore(databaseFile(dataDir));
    try {
      for (const [id, command, env] of [
        ['nul-arg', ['/bin/echo', 'a\0b'], process.env],
        ['nul-env', ['/bin/echo', 'hi'], { ...process.env, SECRET: 'sec\0ret' }],
      ] as const) {
        const runner = new Runner({ id, command, env, logDir: join(dataDir, 'logs'), echo: false, diagnostics: false, sink: new StoreSink(store, () => {}) });
        const outcome = await runner.run();
        expect(outcome).toMatchObject({ status: 'failed', exit_code: 127, exit_status: 127 });
        const stored = await store.getRun(id);
        expect(stored).toMatchObject({ status: 'failed', exit_code: 127 });
        expect(stored?.error_message).toMatch(/^could not start: spawn \/bin\/echo: .*null bytes$/);
        expect(stored?.error_message).not.toContain('sec');
      }
    } finally {
      await store.close();
    }
  });

  it("a worker's task: the run ends failed with the cause, and the worker goes on to the next task", async () => {
    const dataDir = tempDir();
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir, housekeepingMs: 300 }, { audit: () => {} });
    hubs.push(hub);
    const submit = async (id: string, command: string[]) => {
      const response = await fetch(`${hub.url}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, command }) });
      expect(response.status).toBe(201);
    };
    // the API refuses a NUL: a row written straight into the database (an older hub, a hand edit) still carries one
    await submit('nul-task', ['/bin/echo', 'placeholder']);
    const db = new Database(databaseFile(dataDir));
    db.prepare('UPDATE runs SET spec = ? WHERE id = ?').run(JSON.stringify({ command: ['/bin/echo', 'a\0b'], setup: [], env: {}, cwd: null }), 'nul-task');
    await submit('nul-setup', ['/bin/echo', 'placeholder']);
    db.prepare('UPDATE runs SET spec = ? WHERE id = ?').run(JSON.stringify({ command: ['/bin/echo', 'hi'], setup: ['echo a\0b'], env: {}, cwd: null }), 'nul-setup');
    db.close();
    await submit('after', ['/bin/echo', 'next one']);
    const worker = cli(['worker', '--id', 'w-nul', '--hub', hub.url, '--heartbeat', '1', '--poll', '100ms', '--data', tempDir()]);
    workers.push(worker);
    const run = async (id: string) => (await getJson<Run>(`${hub.url}/api/runs/${id}`)).body;
    const failed = await waitFor(async () => {
      const r = await run('nul-task');
      return r.status === 'failed' ? r : undefined;
    }, 20_000, 'the task to fail');
    expect(failed.exit_code).toBe(127);
    expect(failed.worker_id).toBe('w-nul');
    expect(failed.error_message).toMatch(/^could not start: spawn \/bin\/echo: .*null bytes$/);
    const setup = await waitFor(async () => {
      const r = await run('nul-setup');
      return r.status === 'failed' ? r : undefined;
    }, 20_000, 'the task with a NUL in its setup to fail');
    expect(setup.error_message).toMatch(/^setup step 1 \(echo a.b\) failed: could not start: spawn \/bin\/sh: .*null bytes$/);
    await waitFor(async () => (await run('after')).status === 'completed' || undefined, 20_000, 'the next task');
  });
});
