/**
 * Issue 9, the runner's edges: a refused create, the hub's limits checked before anything runs,
 * the writer key on every request, a cancel learnt from the lease, and commands that die with
 * their runner or worker. Real hub, real CLI processes; a counting proxy in front of the hub is
 * the test hook (it also answers lease renewals with a cancel, the hub side being another change).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../src/store/store.js';
import type { RunningHub } from '../src/server/listen.js';
import { cli, FIXTURES, getJson, hubOn, PYTHON, tempDir, waitFor, type CliResult } from './helpers.js';
import { hubProxy, type Answer, type HubProxy } from './hub-proxy.js';
import { isGone } from './processes.js';

let hubs: RunningHub[] = [];
let proxies: HubProxy[] = [];
let children: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];

afterEach(async () => {
  for (const running of children) running.child.kill('SIGKILL');
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all(hubs.map((hub) => hub.close().catch(() => {})));
  hubs = [];
  proxies = [];
  children = [];
});

async function hubBehindProxy(answer?: (method: string, path: string) => Answer, delayMs?: (method: string, path: string) => number) {
  const hub = await hubOn(tempDir());
  hubs.push(hub);
  const proxy = await hubProxy(hub.url, answer, delayMs);
  proxies.push(proxy);
  return { hub, proxy };
}

function start(args: string[]) {
  const running = cli(args);
  children.push(running);
  return running;
}

const cancelBy = (by: string) => (method: string, path: string): Answer =>
  method === 'POST' && path.endsWith('/lease') ? { status: 200, body: { lease_s: 1, expires_at: new Date().toISOString(), cancel: { by, at: new Date().toISOString() } } } : undefined;

/** The pids of the watchdog processes that guard the command `pid` (found by the mark in its environment). */
function watchdogsOf(pid: number): number[] {
  const mark = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((entry) => entry.startsWith('RUNLOG_WATCHDOG='))
    ?.slice('RUNLOG_WATCHDOG='.length);
  if (!mark) return [];
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
        return argv.includes('runlog-watchdog') && argv.includes(mark);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('runlog run at the edges (issue 9)', () => {
  it('stops shipping at once when the hub refuses the run: one message naming the field, no request storm, lines kept locally, the command runs on', async () => {
    const refuse = (method: string, path: string): Answer =>
      method === 'POST' && path === '/api/runs' ? { status: 400, body: { error: 'BAD_REQUEST', message: 'name: longer than 256 characters', field: 'name' } } : undefined;
    const { proxy } = await hubBehindProxy(refuse);
    const data = tempDir();
    // no --id: with one, `runlog run` claims the id on the hub before starting (a create of its own)
    const result = await cli(['run', '--quiet', '--hub', proxy.url, '--data', data, '--', '/bin/sh', '-c', 'for i in $(seq 1 40); do echo "step $i"; sleep 0.02; done; exit 5']);
    expect(result.code).toBe(5);
    expect(result.stderr.match(/the hub refused run /g)).toHaveLength(1);
    const id = /the hub refused run (\S+):/.exec(result.stderr)?.[1] ?? '';
    expect(result.stderr).toContain('name: longer than 256 characters');
    expect(proxy.counts.get('POST /api/runs')).toBe(1);
    expect(proxy.counts.get('POST /api/runs/:id/logs') ?? 0).toBe(0);
    const local = await cli(['logs', id, '--hub', 'none', '--data', data]);
    expect(local.stdout.split('\n').filter((line) => line.startsWith('step '))).toHaveLength(40);
    // the local store has the run: nothing waits in the WAL to be refused again
    expect((await cli(['sync', '--data', data])).stdout).toContain('nothing to send');
  });

  it('keeps the runs a sync could not deliver while the hub was down for the next sync (exit 1), which delivers them whole', async () => {
    const spare = await hubOn(tempDir()); // a port nothing listens on once this hub is closed
    const url = spare.url;
    await spare.close();
    const data = tempDir();
    const ran = await cli(['run', '--hub', url, '--id', 'waits', '--data', data, '--flush-timeout', '1s', '-q', '--', '/bin/sh', '-c', 'echo one; echo two']);
    expect(ran.code).toBe(0);
    const early = await cli(['sync', '--data', data, '--timeout', '1s']);
    expect(early.code).toBe(1);
    expect(early.stderr + early.stdout).not.toMatch(/refused/);
    const hub = await hubOn(tempDir(), Number(new URL(url).port));
    hubs.push(hub);
    const later = await cli(['sync', '--data', data, '--json']);
    expect(later.code).toBe(0);
    expect((JSON.parse(later.stdout) as { sent_lines: number }).sent_lines).toBe(2);
    const { body } = await getJson<{ logs: { message: string }[] }>(`${hub.url}/api/runs/waits/logs`);
    expect(body.logs.map((line) => line.message)).toEqual(['one', 'two']);
    expect((await getJson<Run>(`${hub.url}/api/runs/waits`)).body.status).toBe('completed');
  });

  it('sends every line again, from its WAL, to a hub that came back without the run (a new data directory)', async () => {
    let hub = await hubOn(tempDir());
    const port = Number(new URL(hub.url).port);
    const running = start(['run', '--hub', hub.url, '--id', 'reborn', '--data', tempDir(), '--', PYTHON, join(FIXTURES, 'paced.py'), '300', '0.01']);
    await waitFor(async () => ((await getJson<Run>(`${hub.url}/api/runs/reborn`)).body.line_count ?? 0) >= 50 || undefined, 20_000, '50 lines');
    await hub.close();
    hub = await hubOn(tempDir(), port); // the same address, an empty store
    hubs.push(hub);
    const done = await running;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/no longer knew run reborn.*sent again/);
    const { body } = await getJson<{ logs: { seq: number; message: string }[] }>(`${hub.url}/api/runs/reborn/logs?limit=1000`);
    expect(body.logs.map((line) => line.message)).toEqual(Array.from({ length: 300 }, (_, i) => `paced ${i + 1}`));
    expect((await getJson<Run>(`${hub.url}/api/runs/reborn`)).body).toMatchObject({ status: 'completed', line_count: 300 });
  });

  it('retries a hub whose store is full (507) until it takes the lines: the run is whole on the hub, never split into the local store', async () => {
    let full = 6; // the first answers to lines are 507 STORAGE_FULL
    const { hub, proxy } = await hubBehindProxy((method, path) =>
      method === 'POST' && path.endsWith('/logs') && full-- > 0 ? { status: 507, body: { error: 'STORAGE_FULL', message: 'the hub store is full' } } : undefined,
    );
    const data = tempDir();
    const result = await cli(['run', '--quiet', '--json', '--hub', proxy.url, '--data', data, '--', '/bin/sh', '-c', 'for i in $(seq 1 50); do echo "row $i"; done']);
    expect(result.code).toBe(0);
    const { id } = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { id: string };
    expect((proxy.counts.get('POST /api/runs/:id/logs') ?? 0)).toBeGreaterThan(6);
    const run = (await getJson<Run>(`${hub.url}/api/runs/${id}`)).body;
    expect(run).toMatchObject({ status: 'completed', line_count: 50 });
    const local = await cli(['runs', '--json', '--hub', 'none', '--data', data]);
    expect(local.stdout.trim()).toBe('[]');
    expect((await cli(['sync', '--data', data])).stdout).toContain('nothing to send');
  });

  it('delivers the end of a command that printed nothing for longer than --flush-timeout, to a hub slow to answer it', async () => {
    // the wait for the end used to count from the hub's last answer (the run's creation): after
    // 1.5 s of silence a 1 s timeout had already run out, and a finish answered in 400 ms was given up
    const { hub, proxy } = await hubBehindProxy(undefined, (method, path) => (method === 'POST' && path.endsWith('/finish') ? 400 : 0));
    const data = tempDir();
    const result = await start(['run', '--hub', proxy.url, '--id', 'quiet-end', '--flush-timeout', '1s', '--lease', '60s', '--data', data, '--', 'sleep', '1.5']);
    expect(result.stderr).not.toContain('did not take the end');
    expect(result.code).toBe(0);
    expect((await getJson<Run>(`${hub.url}/api/runs/quiet-end`)).body.status).toBe('completed');
    expect(readdirSync(join(data, 'wal')).filter((name) => name.startsWith('quiet-end'))).toEqual([]);
  });

  it("checks --name, labels and the command's size against the hub's limits before running anything", async () => {
    const data = tempDir();
    const marker = join(data, 'ran');
    const touch = ['/bin/sh', '-c', `touch ${marker}`];
    const name = await cli(['run', '--data', data, '--name', 'n'.repeat(257), '--', ...touch]);
    expect(name.code).toBe(2);
    expect(name.stderr).toContain('--name: at most 256 bytes');
    const labels = await cli(['run', '--data', data, ...Array.from({ length: 65 }, (_, i) => ['--label', `k${i}=v`]).flat(), '--', ...touch]);
    expect(labels.code).toBe(2);
    expect(labels.stderr).toContain('--label: at most 64 labels');
    const longLabel = await cli(['run', '--data', data, '--label', `k=${'v'.repeat(300)}`, '--', ...touch]);
    expect(longLabel.code).toBe(2);
    expect(longLabel.stderr).toContain('--label');
    const script = await cli(['run', '--data', data, '--', PYTHON, '-c', `print(1)\n#${'x'.repeat(70 * 1024)}`]);
    expect(script.code).toBe(2);
    expect(script.stderr).toContain('the command: at most 64 KiB');
    expect(() => readFileSync(marker)).toThrow();
  });

  it('sends the writer key on every request of the run, renews its lease, and stops the command when the lease answer asks for a cancel', async () => {
    const { proxy } = await hubBehindProxy(cancelBy('alice'));
    const data = tempDir();
    const result = await cli(['run', '--quiet', '--json', '--hub', proxy.url, '--data', data, '--id', 'cancel-lease', '--lease', '1s', '--', PYTHON, join(FIXTURES, 'paced.py'), '1000', '0.05']);
    expect(result.code).toBe(143);
    const run = (await getJson<Run>(`${proxy.url}/api/runs/cancel-lease`)).body;
    expect(run).toMatchObject({ status: 'cancelled', error_message: 'cancelled by alice' });
    const keys = new Set([...proxy.writers.entries()].filter(([route]) => route.startsWith('POST')).flatMap(([, set]) => [...set]));
    expect(keys.size).toBe(1);
    for (const route of ['POST /api/runs', 'POST /api/runs/:id/logs', 'POST /api/runs/:id/lease', 'POST /api/runs/:id/finish']) expect(proxy.writers.get(route)?.size).toBe(1);
  });

  it('stops the command when `runlog cancel` asks, through the real hub: the run ends cancelled by whoever asked, exit 143', async () => {
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    const running = start(['run', '--quiet', '--json', '--hub', hub.url, '--data', tempDir(), '--id', 'cancel-me', '--lease', '1s', '--', PYTHON, join(FIXTURES, 'paced.py'), '1000', '0.05']);
    await waitFor(async () => ((await getJson<Run>(`${hub.url}/api/runs/cancel-me`)).body.line_count ?? 0) > 2 || undefined, 20_000, 'the run to print');
    const cancel = await cli(['cancel', 'cancel-me', '--hub', hub.url]);
    expect(cancel.code).toBe(0);
    const result = await running;
    expect(result.code).toBe(143);
    const run = (await getJson<Run>(`${hub.url}/api/runs/cancel-me`)).body;
    expect(run.status).toBe('cancelled');
    expect(run.error_message).toMatch(/^cancelled by \S+@\S+/);
  });

  it('exits 143 when cancelled through the hub, though the command catches SIGTERM and exits 0', async () => {
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    // before, runlog run exited 0 here (the command's code): `runlog run -- job && deploy` deployed
    const running = start(['run', '--quiet', '--hub', hub.url, '--data', tempDir(), '--id', 'cancel-trap', '--lease', '1s', '--', '/bin/sh', '-c', 'trap "exit 0" TERM; echo started; while :; do sleep 0.1; done']);
    await waitFor(async () => ((await getJson<Run>(`${hub.url}/api/runs/cancel-trap`)).body.line_count ?? 0) > 0 || undefined, 20_000, 'the run to print');
    expect((await cli(['cancel', 'cancel-trap', '--hub', hub.url])).code).toBe(0);
    const result = await running;
    expect(result.code, result.stderr).toBe(143);
    expect((await getJson<Run>(`${hub.url}/api/runs/cancel-trap`)).body.status).toBe('cancelled');
  });

  it('kills the whole process group of a command that prints nothing when runlog run is SIGKILLed', async () => {
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    const pids = join(tempDir(), 'pids');
    writeFileSync(pids, '');
    const running = start(['run', '--quiet', '--hub', hub.url, '--data', tempDir(), '--', '/bin/sh', '-c', `sleep 300 & echo $$ $! > ${pids}; wait`]);
    const [shell, sleeper] = (await waitFor(() => readFileSync(pids, 'utf8').trim() || undefined, 10_000, 'the command')).split(' ').map(Number);
    running.child.kill('SIGKILL');
    // "within a second" (issue 9); waited for longer here, as the machine may be busy
    await waitFor(() => isGone(shell!) && isGone(sleeper!), 3000, 'the shell and its silent child to be killed');
  });
});

describe('runlog worker at the edges (issue 9)', () => {
  async function submit(hub: string, command: string[]): Promise<Run> {
    const response = await fetch(`${hub}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command }) });
    return (await response.json()) as Run;
  }

  it('kills a silent task with the SIGKILLed worker, and a restarted worker kills what its previous life left running', async () => {
    const { hub } = await hubBehindProxy();
    const data = tempDir();
    const pids = join(data, 'task-pids');
    writeFileSync(pids, '');
    const silent = ['/bin/sh', '-c', `sleep 300 & echo $$ $! >> ${pids}; wait`];
    const readPids = async (count: number) =>
      (await waitFor(() => {
        const found = readFileSync(pids, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        return found.length >= count ? found : undefined;
      }, 20_000, 'the task to start'));

    await submit(hub.url, silent);
    const first = start(['worker', '--id', 'w-kill', '--hub', hub.url, '--data', data, '--heartbeat', '1', '--poll', '100ms']);
    const [shell, sleeper] = await readPids(2);
    first.child.kill('SIGKILL');
    await waitFor(() => isGone(shell!) && isGone(sleeper!), 3000, "the task's group to die with its worker");
    await first;

    // now a worker whose watchdog is gone too (killed first): the group outlives it …
    await submit(hub.url, silent);
    const second = start(['worker', '--id', 'w-kill', '--hub', hub.url, '--data', data, '--heartbeat', '1', '--poll', '100ms']);
    const [, , shell2, sleeper2] = await readPids(4);
    // the worker records the group as the command starts: wait for the record before killing it
    const recorded = () => {
      try {
        return readFileSync(join(data, 'worker-w-kill.pids'), 'utf8').startsWith(`${shell2} `) || undefined;
      } catch {
        return undefined;
      }
    };
    await waitFor(recorded, 10_000, "the worker's record of the group");
    const watchdogs = watchdogsOf(shell2!);
    expect(watchdogs).toHaveLength(1);
    for (const watchdog of watchdogs) process.kill(watchdog, 'SIGKILL');
    second.child.kill('SIGKILL');
    await second;
    expect(isGone(sleeper2!)).toBe(false);
    // … until the worker starts again on the same data directory
    const third = start(['worker', '--id', 'w-kill', '--hub', hub.url, '--data', data, '--heartbeat', '1', '--poll', '100ms']);
    await waitFor(() => isGone(shell2!) && isGone(sleeper2!), 10_000, 'the restarted worker to kill the leftover group');
    third.child.kill('SIGTERM');
    await third;
  });

  it('cancels a running task when its lease answer says so, and never hands a cancelled task back', async () => {
    const { hub, proxy } = await hubBehindProxy(cancelBy('bob'));
    // the command takes a moment to stop after SIGTERM, so the worker is told to stop meanwhile
    const task = await submit(hub.url, ['/bin/sh', '-c', 'trap "sleep 1; exit 143" TERM; echo started; while :; do sleep 0.1; done']);
    const worker = start(['worker', '--id', 'w-cancel', '--hub', proxy.url, '--data', tempDir(), '--heartbeat', '1', '--poll', '100ms', '--lease', '1s']);
    await waitFor(() => (proxy.counts.get('POST /api/runs/:id/lease') ?? 0) > 0 || undefined, 20_000, 'a lease renewal');
    worker.child.kill('SIGTERM'); // hand back, were it not cancelled
    await worker;
    const run = (await getJson<Run>(`${hub.url}/api/runs/${task.id}`)).body;
    expect(run).toMatchObject({ status: 'cancelled', error_message: 'cancelled by bob' });
    expect(proxy.counts.get('POST /api/tasks/:id/release') ?? 0).toBe(0);
  });
});
