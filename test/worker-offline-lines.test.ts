/**
 * A worker the hub counted offline (cut off, or killed and started again later) still delivers
 * what its write-ahead log holds. Before, the hub failed the run without marking it lost, so it
 * answered 409 ("has ended: it takes no more lines") to the restarted worker's replay, and the
 * lines the task printed while the worker was cut off were lost for good, against "a line read is
 * a line kept" (README, Durability).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { Run } from '../src/store/store.js';
import { cli, getJson, tempDir, waitFor, type CliResult } from './helpers.js';

let hubs: RunningHub[] = [];
const workers: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];

afterEach(async () => {
  for (const worker of workers.splice(0)) worker.child.kill('SIGKILL');
  await Promise.all(hubs.map((hub) => hub.close().catch(() => {})));
  hubs = [];
});

async function newHub(dataDir: string, port = 0): Promise<RunningHub> {
  const hub = await startHub({ host: '127.0.0.1', port, dataDir, housekeepingMs: 300 });
  hubs.push(hub);
  return hub;
}

const run = async (hub: string, id: string) => (await getJson<Run>(`${hub}/api/runs/${id}`)).body;
const lines = async (hub: string, id: string) => (await getJson<{ logs: WireRecord[] }>(`${hub}/api/runs/${id}/logs?after=0&limit=10000`)).body.logs;

describe('a worker the hub counted offline', () => {
  it("delivers the task's lines from its write-ahead log when it is started again", async () => {
    const hubDir = tempDir();
    let hub = await newHub(hubDir);
    const port = Number(new URL(hub.url).port);
    const workerDir = tempDir();
    const start = () => {
      const worker = cli(['worker', '--id', 'w-cut', '--hub', hub.url, '--heartbeat', '1', '--poll', '100ms', '--data', workerDir]);
      workers.push(worker);
      return worker;
    };
    const first = start();
    const submitted = await fetch(`${hub.url}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'cut-off', command: ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done'] }),
    });
    expect(submitted.status).toBe(201);
    await waitFor(async () => (await lines(hub.url, 'cut-off')).length >= 3 || undefined, 20_000, 'the task to print');
    // the hub goes away; the task prints on, into the worker's WAL only; then the worker dies
    await hub.close();
    hubs = [];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    first.child.kill('SIGKILL');
    await first;
    hub = await newHub(hubDir, port);
    const heard = (await lines(hub.url, 'cut-off')).length;
    // counted from the hub's start, the silent worker goes offline and its run fails
    await waitFor(async () => ((await run(hub.url, 'cut-off')).status === 'failed' ? true : undefined), 30_000, 'the run to fail');
    // the worker, started again on its data directory, replays its WAL
    start();
    const stored = await waitFor(async () => {
      const all = await lines(hub.url, 'cut-off');
      return all.length > heard + 5 ? all : undefined;
    }, 20_000, 'the lines of the WAL');
    const ticks = stored.filter((l) => l.source === 'stdout').map((l) => l.message);
    expect(ticks).toEqual(ticks.map((_, i) => `tick ${i + 1}`));
    expect((await run(hub.url, 'cut-off')).status).toBe('failed');
  }, 90_000);
});
