/**
 * Issue 9: "what waits, waits on disk: the runner's memory stays under 100 MB however far behind
 * the hub is". A real `runlog run` prints 2M lines as fast as Python can; its peak resident memory
 * (VmHWM, the kernel's high-water mark) is read from /proc while it runs, with a hub that takes
 * the lines (and so is behind most of the time) and with no hub at all (everything waits in the WAL).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cli, getJson, hubOn, PYTHON, tempDir, waitFor } from './helpers.js';

const LINES = 2_000_000;
const LIMIT_KB = 100 * 1024;
const PRINT = `import sys
w = sys.stdout.write
for i in range(${LINES}):
    w("line %d of the job, padded to about ninety bytes like a training log line .......\\n" % i)`;

const dirs: string[] = [];
let hub: RunningHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Reads a process's peak resident memory (kB) every 50 ms until `stop()`; the last reading stands. */
function watchPeak(pid: number): { stop: () => number } {
  let peakKb = 0;
  const timer = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) peakKb = Math.max(peakKb, Number(match[1]));
    } catch {
      // gone between two looks
    }
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      return peakKb;
    },
  };
}

/** Runs `runlog run` on the 2M-line job and returns its exit code, stderr and peak RSS in kB. */
async function runWatched(hubUrl: string): Promise<{ code: number | null; stderr: string; peakKb: number }> {
  const data = tempDir('runlog-mem-');
  dirs.push(data);
  const running = cli(['run', '--quiet', '--hub', hubUrl, '--', PYTHON, '-c', PRINT], { RUNLOG_DATA: data });
  const watch = watchPeak(running.child.pid!);
  const result = await running;
  return { code: result.code, stderr: result.stderr, peakKb: watch.stop() };
}

describe('the runner memory', () => {
  it('stays under 100 MB while a hub takes a 2M-line job, and the hub gets every line', async () => {
    const hubData = tempDir('runlog-mem-hub-');
    dirs.push(hubData);
    hub = await hubOn(hubData);
    const { code, stderr, peakKb } = await runWatched(hub.url);
    expect(code, stderr).toBe(0);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb, `peak RSS ${Math.round(peakKb / 1024)} MB`).toBeLessThan(LIMIT_KB);
    const runs = (await (await fetch(`${hub.url}/api/runs`)).json()) as { runs: { id: string; line_count?: number; status: string }[] };
    const run = runs.runs[0]!;
    expect(run.status).toBe('completed');
    const tail = (await (await fetch(`${hub.url}/api/runs/${run.id}/logs?tail=1`)).json()) as { logs: { seq: number }[]; total_lines: number };
    expect(tail.logs.at(-1)?.seq).toBe(LINES);
    expect(tail.total_lines).toBe(LINES);
  }, 180_000);

  it('stays under 100 MB when the hub is away and every line waits on disk', async () => {
    const { code, stderr, peakKb } = await runWatched('http://127.0.0.1:9');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`${LINES} lines kept in the local store`);
    expect(peakKb, `peak RSS ${Math.round(peakKb / 1024)} MB`).toBeLessThan(LIMIT_KB);
  }, 180_000);

  it('stays under 100 MB in a worker running a 2M-line task', async () => {
    const hubData = tempDir('runlog-mem-hub-');
    const workerData = tempDir('runlog-mem-worker-');
    dirs.push(hubData, workerData);
    hub = await hubOn(hubData);
    const worker = cli(['worker', '--id', 'mem-1', '--hub', hub.url, '--poll', '100ms', '--data', workerData]);
    const watch = watchPeak(worker.child.pid!);
    try {
      const submitted = await cli(['submit', '--hub', hub.url, '--id', 'mem-task', '--', PYTHON, '-c', PRINT]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const ended = await waitFor(async () => {
        const run = (await getJson<{ status: string; line_count: number }>(`${hub!.url}/api/runs/mem-task`)).body;
        return run.status === 'queued' || run.status === 'running' ? undefined : run;
      }, 170_000, 'the task to end');
      expect(ended.status).toBe('completed');
    } finally {
      worker.child.kill('SIGTERM');
      await worker;
    }
    const peakKb = watch.stop();
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb, `peak RSS ${Math.round(peakKb / 1024)} MB`).toBeLessThan(LIMIT_KB);
  }, 200_000);

  it('keeps a follower of a 500k-line file under 150 MB: it reads no further while 20,000 lines wait for the hub', async () => {
    const hubData = tempDir('runlog-mem-hub-');
    const data = tempDir('runlog-mem-follow-');
    dirs.push(hubData, data);
    const file = join(data, 'big.log');
    const line = 'a line of a big log file, padded to about ninety bytes like the others ............';
    writeFileSync(file, Array.from({ length: 500_000 }, (_, i) => `${i + 1} ${line}\n`).join(''));
    hub = await hubOn(hubData);
    const follower = cli(['follow', file, '--run', 'big-file', '--hub', hub.url, '--data', data, '--until-idle', '1s']);
    const watch = watchPeak(follower.child.pid!);
    const result = await follower;
    const peakKb = watch.stop();
    expect(result.code, result.stderr).toBe(0);
    const run = (await getJson<{ line_count: number }>(`${hub.url}/api/runs/big-file`)).body;
    expect(run.line_count).toBe(500_000);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb, `peak RSS ${Math.round(peakKb / 1024)} MB`).toBeLessThan(150 * 1024);
  }, 120_000);
});
