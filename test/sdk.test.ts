/** The Node SDK as a program uses it: `import … from 'runlog/sdk'`, a real hub, a real child process. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { SystemLog } from '../src/store/store.js';
import { FIXTURES, getJson, hubOn, tempDir } from './helpers.js';

let hub: RunningHub | undefined;
afterEach(async () => hub?.close());

function program(id: string, hubUrl: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(FIXTURES, 'sdk_worker.mjs'), id], {
    env: { ...process.env, RUNLOG_HUB: hubUrl, SPOOL_DIR: tempDir() },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr, ms: Date.now() - started })));
}

describe('runlog/sdk', () => {
  it('ships a program’s lines on heartbeats, with the task id across awaits and console output captured', async () => {
    hub = await hubOn(tempDir());
    const result = await program('sdk-w1', hub.url);
    expect(result.code).toBe(0);
    const { body } = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=sdk-w1&limit=100`);
    const logs = body.logs.reverse();
    expect(logs.map((l) => [l.message, l.task_id])).toEqual([
      ['model loaded', null],
      ['step 1', 'task-42'],
      ['step 2 slow', 'task-42'],
      ['from console 7', null],
      ['outside again', null],
    ]);
    expect(logs[2]).toMatchObject({ level: 'WARNING', metadata: { step: 2, logger: 'runlog.worker.train' } });
    expect((await getJson<{ status: string }>(`${hub.url}/api/workers/sdk-w1`)).body.status).toBe('offline');
  });

  it('stops in bounded time when the hub takes connections and never answers', async () => {
    const blackHole = createServer(() => {}); // accepts, reads, never answers
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as AddressInfo;
    try {
      const result = await program('sdk-w3', `http://127.0.0.1:${port}`);
      expect(result.code).toBe(0);
      // createWorker asks the hub for its last seq (3 s at most), stop() waits 5 s at most, then aborts
      expect(result.ms).toBeLessThan(15_000);
    } finally {
      blackHole.close();
    }
  });

  it('never breaks the program when the hub is gone', async () => {
    const result = await program('sdk-w2', 'http://127.0.0.1:9');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });
});
