/** Workers end to end: real `runlog worker` processes, a real hub, real tasks. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { Run, SystemLog, Worker } from '../src/store/store.js';
import { corpusDir } from './corpus.js';
import { cli, FIXTURES, getJson, PYTHON, tempDir, waitFor, type CliResult } from './helpers.js';

let hubs: RunningHub[] = [];
let workers: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];

afterEach(async () => {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await Promise.all(hubs.map((hub) => hub.close().catch(() => {})));
  hubs = [];
  workers = [];
});

async function newHub(dataDir = tempDir(), port = 0): Promise<RunningHub> {
  const hub = await startHub({ host: '127.0.0.1', port, dataDir, housekeepingMs: 300 });
  hubs.push(hub);
  return hub;
}

function startWorker(hub: string, id: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const worker = cli(['worker', '--id', id, '--hub', hub, '--heartbeat', '1', '--poll', '100ms', '--data', tempDir(), ...extra], env);
  workers.push(worker);
  return worker;
}

async function submit(hub: string, body: object): Promise<Run> {
  const response = await fetch(`${hub}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(201);
  return (await response.json()) as Run;
}

const run = async (hub: string, id: string) => (await getJson<Run>(`${hub}/api/runs/${id}`)).body;
const worker = async (hub: string, id: string) => (await getJson<Worker>(`${hub}/api/workers/${id}`)).body;
const lines = async (hub: string, id: string) => (await getJson<{ logs: WireRecord[] }>(`${hub}/api/runs/${id}/logs?after=0&limit=10000`)).body.logs;
const workerLogs = async (hub: string, id: string) => (await getJson<{ logs: SystemLog[] }>(`${hub}/api/logs?source_id=${id}&limit=10000`)).body.logs;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('runlog worker', () => {
  it('two workers racing for 50 tasks run each exactly once', async () => {
    const hub = await newHub();
    const ids = range(1, 50).map((i) => `task-${i}`);
    for (const id of ids) await submit(hub.url, { id, command: ['/bin/sh', '-c', 'echo "ran $RUNLOG_RUN_ID"'] });
    startWorker(hub.url, 'w1');
    startWorker(hub.url, 'w2');
    await waitFor(async () => {
      const { body } = await getJson<{ runs: Run[] }>(`${hub.url}/api/runs?status=completed&limit=100`);
      return body.runs.length === 50 || undefined;
    }, 60_000, '50 completed runs');
    for (const id of ids) {
      const stored = await lines(hub.url, id);
      expect(stored.filter((l) => l.message === `ran ${id}`)).toHaveLength(1);
      expect(['w1', 'w2']).toContain((await run(hub.url, id)).worker_id);
    }
    // each claim is a line in the claiming worker's own log: 50 claims in all, none twice
    const claimLines = async () =>
      [...(await workerLogs(hub.url, 'w1')), ...(await workerLogs(hub.url, 'w2'))].filter((l) => l.message.startsWith('claimed task '));
    const claims = await waitFor(async () => {
      const all = await claimLines();
      return all.length >= 50 ? all : undefined;
    }, 10_000, 'the claim lines');
    expect(claims).toHaveLength(50);
    expect(new Set(claims.map((l) => l.task_id))).toEqual(new Set(ids));
  });

  it('answers a submitted task with its FunctionResponse: every phase in order, in the production format', async () => {
    const hub = await newHub();
    startWorker(hub.url, 'w-ok');
    const result = await cli(['submit', '--hub', hub.url, '--wait', '60', '--json', '--setup', 'echo installing deps', '--', '/bin/sh', '-c', 'echo computing; echo done']);
    const response = JSON.parse(result.stdout) as { success: boolean; exit_code: number; stdout: string; error: string | null; run_id: string; duration_seconds: number };
    expect(result.code).toBe(0);
    expect(response).toMatchObject({ success: true, exit_code: 0, error: null });
    expect(response.duration_seconds).toBeGreaterThan(0);
    const out = response.stdout.split('\n');
    expect(out.every((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| [A-Z]+ *\| /.test(line))).toBe(true);
    const messages = out.map((line) => line.split(' | ').slice(2).join(' | '));
    expect(messages).toEqual(['setup 1/1: echo installing deps', 'installing deps', 'computing', 'done']);
  });

  it('answers a task whose setup fails: not successful, the error names the step, the command never ran', async () => {
    const hub = await newHub();
    startWorker(hub.url, 'w-bad');
    const result = await cli(['submit', '--hub', hub.url, '--wait', '60', '--json', '--setup', 'echo "no such package" >&2; exit 9', '--', '/bin/sh', '-c', 'echo should-not-run']);
    const response = JSON.parse(result.stdout) as { success: boolean; exit_code: number; stdout: string; error: string };
    expect(result.code).toBe(9);
    expect(response.success).toBe(false);
    expect(response.exit_code).toBe(9);
    expect(response.error).toContain('setup step 1');
    expect(response.error).toContain('no such package');
    expect(response.stdout).toContain('no such package');
    expect(response.stdout).not.toContain('should-not-run');
    const stored = await run(hub.url, JSON.parse(result.stdout).run_id);
    expect(stored.diagnostics).toMatchObject({ probes: expect.arrayContaining([expect.objectContaining({ name: 'commands', ok: true })]) });
  });

  it('reports GPU memory from nvidia-smi (a stand-in answering from a real capture)', async () => {
    const captures = corpusDir('nvidia_smi', 'worker.test');
    if (!captures) return;
    const capture = join(captures, readdirSync(captures).find((name) => name.startsWith('telegraf_dual_a5000')) ?? '');
    const hub = await newHub();
    startWorker(hub.url, 'w-gpu', [], { PATH: `${FIXTURES}:${process.env.PATH}`, FAKE_NVIDIA_SMI_CAPTURE: capture });
    const seen = await waitFor(async () => {
      const w = (await getJson<Worker>(`${hub.url}/api/workers/w-gpu`)).body;
      return w.gpus?.length ? w : undefined;
    }, 20_000, 'a heartbeat with GPUs');
    expect(seen.gpus).toHaveLength(2);
    expect(seen.vram_total_mb).toBeGreaterThan(40_000);
    expect(seen.status).toBe('active');
    const gpu = await cli(['gpu', '--json'], { PATH: `${FIXTURES}:${process.env.PATH}`, FAKE_NVIDIA_SMI_CAPTURE: capture });
    expect(JSON.parse(gpu.stdout).gpus).toHaveLength(2);
  });

  it('flushes its buffered lines and says offline on SIGTERM', async () => {
    const hub = await newHub();
    const w = startWorker(hub.url, 'w-term', ['--heartbeat', '60']);
    await waitFor(async () => (await getJson(`${hub.url}/api/workers/w-term`)).status === 200 || undefined, 20_000, 'first heartbeat');
    await submit(hub.url, { id: 'quick', command: ['/bin/sh', '-c', 'echo hi'] });
    await waitFor(async () => (await run(hub.url, 'quick')).status === 'completed' || undefined, 20_000, 'the task');
    w.child.kill('SIGTERM');
    expect((await w).code).toBe(0);
    const logs = (await workerLogs(hub.url, 'w-term')).map((l) => l.message);
    // these were logged after the first beat and went out with the goodbye
    expect(logs.some((m) => m.startsWith('task quick completed'))).toBe(true);
    expect(logs.some((m) => m.includes('goodbye'))).toBe(true);
    expect((await worker(hub.url, 'w-term')).status).toBe('offline');
  });

  it('refuses a second worker with the same id while the first is online (same data directory, or another), and takes it once the first is gone', async () => {
    const hub = await newHub();
    const data = tempDir();
    const first = startWorker(hub.url, 'w-dup', ['--data', data]);
    await waitFor(async () => (await getJson(`${hub.url}/api/workers/w-dup`)).status === 200 || undefined, 20_000, 'first heartbeat');
    const here = await startWorker(hub.url, 'w-dup', ['--data', data]);
    expect(here.code).toBe(2);
    expect(here.stderr).toContain(`worker w-dup is already running here (pid ${first.child.pid}`);
    const elsewhere = await startWorker(hub.url, 'w-dup');
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(new RegExp(`worker w-dup is \\w+ from \\S+ \\(pid ${first.child.pid}\\).*--replace`));
    expect((await worker(hub.url, 'w-dup')).status).not.toBe('offline');
    // the first killed (a crash on this host): a new life starts at once, with no --replace
    first.child.kill('SIGKILL');
    await first;
    const next = startWorker(hub.url, 'w-dup', ['--data', data]);
    await waitFor(async () => (await worker(hub.url, 'w-dup')).stats?.pid === next.child.pid || undefined, 20_000, 'the new life heartbeating');
  });

  it('hands an unfinished task back on SIGTERM, and another worker finishes it, numbering its lines on', async () => {
    const hub = await newHub();
    const first = startWorker(hub.url, 'w-leaving');
    await submit(hub.url, { id: 'handed', command: [PYTHON, join(FIXTURES, 'paced.py'), '30', '0.1'] });
    await waitFor(async () => (await lines(hub.url, 'handed')).length >= 5 || undefined, 20_000, 'the task to start');
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);
    expect((await run(hub.url, 'handed')).status).toBe('queued');
    startWorker(hub.url, 'w-arriving');
    await waitFor(async () => (await run(hub.url, 'handed')).status === 'completed' || undefined, 30_000, 'the second worker to finish it');
    const stored = await lines(hub.url, 'handed');
    expect(stored.map((l) => l.seq)).toEqual(range(1, stored.length));
    expect(stored.filter((l) => l.message === 'paced 30')).toHaveLength(1);
    expect((await run(hub.url, 'handed')).worker_id).toBe('w-arriving');
    // the first life's last line says where the run went (it said "cancelled by SIGTERM", in a run that completed)
    const system = stored.filter((l) => l.source === 'system').map((l) => l.message);
    expect(system.some((m) => m.startsWith('cancelled by'))).toBe(false);
    expect(system).toContain('handed back to the queue: worker w-leaving is stopping (SIGTERM); the command was stopped and runs again on the next worker that claims it');
    expect((await first).stderr).toMatch(/task handed handed back after/);
  });

  it('says a hand-back waits in its write-ahead log when the hub is away at SIGTERM, instead of "handed back"', async () => {
    const hub = await newHub();
    const leaving = startWorker(hub.url, 'w-cut-off');
    await submit(hub.url, { id: 'pending-back', command: [PYTHON, join(FIXTURES, 'paced.py'), '300', '0.1'] });
    await waitFor(async () => (await lines(hub.url, 'pending-back')).length >= 3 || undefined, 20_000, 'the task to start');
    await hub.close();
    hubs = hubs.filter((h) => h !== hub);
    leaving.child.kill('SIGTERM');
    const done = await leaving;
    expect(done.stderr).toMatch(/task pending-back to be handed back once the hub answers \(it waits in the write-ahead log/);
    expect(done.stderr).not.toMatch(/task pending-back handed back/);
  }, 60_000);

  it('fails the run of a worker that died mid-task once the worker is offline', async () => {
    const hub = await newHub();
    const w = startWorker(hub.url, 'w-dies');
    await submit(hub.url, { id: 'orphan', command: [PYTHON, join(FIXTURES, 'paced.py'), '1000', '0.1'] });
    await waitFor(async () => (await run(hub.url, 'orphan')).status === 'running' || undefined, 20_000, 'the task to start');
    await waitFor(async () => (await worker(hub.url, 'w-dies')).current_task_id === 'orphan' || undefined, 20_000, 'a busy heartbeat');
    w.child.kill('SIGKILL');
    const failed = await waitFor(async () => {
      const r = await run(hub.url, 'orphan');
      return r.status === 'failed' ? r : undefined;
    }, 40_000, 'the run to fail');
    expect(failed.error_message).toContain('worker w-dies went offline');
    // the failed run is no longer named as its task; its state is still what it last said
    expect(await worker(hub.url, 'w-dies')).toMatchObject({ status: 'offline', state: 'busy', current_task_id: null });
    const listed = await cli(['workers', '--hub', hub.url]);
    expect(listed.stdout).toMatch(/^w-dies +offline +busy +\d+s ago +- +0 +-$/m);
  });

  it('keeps working through a 35 s hub outage: the task runs on, ends while the hub is away, and every line arrives exactly once', async () => {
    const dataDir = tempDir();
    let hub = await newHub(dataDir);
    const port = Number(new URL(hub.url).port);
    startWorker(hub.url, 'w-outage');
    // 15 s of output: the task ends in the middle of the outage, and its end waits for the hub
    await submit(hub.url, { id: 'through', command: [PYTHON, join(FIXTURES, 'paced.py'), '150', '0.1'] });
    await waitFor(async () => (await lines(hub.url, 'through')).length >= 20 || undefined, 20_000, 'lines before the outage');
    await hub.close();
    hubs = [];
    await new Promise((r) => setTimeout(r, 35_000));
    hub = await newHub(dataDir, port);
    await waitFor(async () => (await run(hub.url, 'through')).status === 'completed' || undefined, 60_000, 'the task to complete');
    const stored = await lines(hub.url, 'through');
    expect(stored.filter((l) => l.source === 'stdout').map((l) => l.message)).toEqual(range(1, 150).map((i) => `paced ${i}`));
    expect(stored.map((l) => l.seq)).toEqual(range(1, stored.length));
    // the worker's own lines: one per seq, none lost, none twice
    await waitFor(async () => (await workerLogs(hub.url, 'w-outage')).some((l) => l.message.startsWith('task through completed')) || undefined, 20_000, 'the worker lines');
    const own = (await workerLogs(hub.url, 'w-outage')).map((l) => l.seq).sort((a, b) => a - b);
    expect(own).toEqual(range(1, own.length));
    expect((await workerLogs(hub.url, 'w-outage')).some((l) => l.message.includes('heartbeat failed'))).toBe(true);
  }, 120_000);
});
