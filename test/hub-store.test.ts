/**
 * Issue 9, the hub and its data directory: one hub per directory, what other processes write to
 * the store reaches the hub's live viewers, a response of any size in flat memory, a full disk.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseFile } from '../src/core/config.js';
import type { LogRecord } from '../src/core/record.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import type { Run } from '../src/store/store.js';
import { CLI, cli, mountTmpfs, PYTHON, tempDir, waitFor } from './helpers.js';

let hubs: RunningHub[] = [];
let children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children = [];
  await Promise.all(hubs.map((hub) => hub.close().catch(() => {})));
  hubs = [];
});

async function newHub(dataDir = tempDir()): Promise<RunningHub> {
  const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir, ssePingMs: 1000 });
  hubs.push(hub);
  return hub;
}

/** `runlog server` as a child process, and its URL once it listens. */
async function hubProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'server', '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const url = await waitFor(() => /listening on (http:\S+)/.exec(out)?.[1], 20_000, `the hub to listen (${out})`);
  return { child, url };
}

describe('one hub per data directory', () => {
  it('refuses a second `runlog server` on the same --data with exit 2, naming the pid that holds it', async () => {
    const dataDir = tempDir();
    const first = await hubProcess(dataDir);
    const second = await cli(['server', '--data', dataDir, '--port', '0']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    // in the same process too
    await expect(startHub({ host: '127.0.0.1', port: 0, dataDir })).rejects.toThrow(`pid ${first.child.pid}`);
  });

  it('takes over the lock of a hub that died without releasing it', async () => {
    const dataDir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    writeFileSync(join(dataDir, 'hub.lock'), `${dead}\n`);
    const hub = await newHub(dataDir);
    expect(readFileSync(join(dataDir, 'hub.lock'), 'utf8').trim()).toBe(String(process.pid));
    await hub.close();
    hubs = [];
    // released on close: the next hub starts
    hubs.push(await startHub({ host: '127.0.0.1', port: 0, dataDir }));
  });

  it("takes over a lock naming its own pid that it does not hold (a container's hub is pid 1 in each life)", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'hub.lock'), `${process.pid}\n`);
    const hub = await newHub(dataDir);
    // but a second hub of this process on the same directory is refused
    await expect(startHub({ host: '127.0.0.1', port: 0, dataDir })).rejects.toThrow(`pid ${process.pid}`);
    await hub.close();
    hubs = [];
  });
});

describe('writes by other processes', () => {
  it('shows a live viewer every line and the end of a `runlog run --hub none` writing the same store beside the hub', async () => {
    const dataDir = tempDir();
    const hub = await newHub(dataDir);
    const total = 300;
    const script = join(tempDir(), 'paced.py');
    writeFileSync(script, `import time\nfor i in range(1, ${total + 1}):\n    print(f"beside {i}", flush=True)\n    time.sleep(0.01)\n`);
    const runsEvents: Run[] = [];
    const events = new EventSource(`${hub.url}/api/events`);
    events.addEventListener('run', (event) => runsEvents.push(JSON.parse(event.data) as Run));
    const run = cli(['run', '--hub', 'none', '--data', dataDir, '--id', 'beside', '-q', '--', PYTHON, script]);
    await waitFor(async () => (await fetch(`${hub.url}/api/runs/beside`)).status === 200 || undefined, 20_000, 'the run in the store');

    const seqs: number[] = [];
    let ended: Run | undefined;
    const viewer = new EventSource(`${hub.url}/api/runs/beside/logs/stream?after=0`);
    viewer.addEventListener('log', (event) => seqs.push((JSON.parse(event.data) as LogRecord).seq));
    viewer.addEventListener('end', (event) => {
      ended = JSON.parse(event.data) as Run;
      viewer.close();
    });
    try {
      expect((await run).code).toBe(0);
      await waitFor(() => ended, 20_000, 'the end, live');
      expect(ended).toMatchObject({ status: 'completed', exit_code: 0 });
      const stored = (await hub.store.readLogs('beside', 0, 10_000)).map((record) => record.seq);
      expect(seqs).toEqual(stored); // every line, once, in order
      expect(stored.length).toBeGreaterThanOrEqual(total);
      await waitFor(() => runsEvents.some((r) => r.id === 'beside' && r.status === 'completed') || undefined, 10_000, 'the runs page to hear the end');
    } finally {
      viewer.close();
      events.close();
    }
  });
});

/** The hub process's peak resident memory, MB (VmHWM). */
function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

describe('GET /api/runs/:id/response', () => {
  it('streams a 2M-line run as valid JSON with the hub under 300 MB', { timeout: 300_000 }, async () => {
    const dataDir = tempDir();
    const lines = 2_000_000;
    const store = new SqliteStore(databaseFile(dataDir));
    await store.upsertRun({ id: 'huge', started_at: 1_700_000_000_000_000 });
    const batch = 20_000;
    for (let start = 1; start <= lines; start += batch) {
      const records: LogRecord[] = [];
      for (let seq = start; seq < start + batch; seq++) {
        records.push({ stream: 'huge', seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', message: `step ${seq} loss=0.${seq % 997} "quoted" \\ tab\there`, source: 'stdout', phase: 'run' });
      }
      await store.appendRecords('huge', records);
    }
    await store.finishRun('huge', { status: 'completed', exit_code: 0, completed_at: 1_700_000_100_000_000 });
    await store.close();

    const { child, url } = await hubProcess(dataDir);
    const response = await fetch(`${url}/api/runs/huge/response`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = JSON.parse(await response.text()) as { success: boolean; stdout: string; exit_code: number; run_id: string; error: null; duration_seconds: number };
    expect(body).toMatchObject({ success: true, exit_code: 0, run_id: 'huge', error: null, duration_seconds: 100 });
    const stdout = body.stdout.split('\n');
    expect(stdout).toHaveLength(lines);
    expect(stdout[0]).toContain('step 1 loss=0.1 "quoted" \\ tab\there');
    expect(stdout[lines - 1]).toContain(`step ${lines} `);
    const peak = peakRssMb(child.pid!);
    console.info(`hub peak RSS serving a ${lines}-line response: ${peak.toFixed(0)} MB`);
    expect(peak).toBeLessThan(300);
  });

  it('is the same JSON the SDK and the CLI read, for a small run', async () => {
    const hub = await newHub();
    await hub.store.upsertRun({ id: 'small' });
    await hub.store.appendRecords('small', [
      { stream: 'small', seq: 1, timestamp: 1_700_000_000_000_000, level: 'INFO', message: 'ünïcode "q" \u0001' },
      { stream: 'small', seq: 2, timestamp: 1_700_000_000_000_001, level: 'ERROR', message: 'boom' },
    ]);
    await hub.store.finishRun('small', { status: 'failed', exit_code: 3, error_message: 'boom' });
    const body = (await (await fetch(`${hub.url}/api/runs/small/response`)).json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['success', 'exit_code', 'stdout', 'error', 'run_id', 'duration_seconds']);
    expect(body).toMatchObject({ success: false, exit_code: 3, error: 'boom', run_id: 'small' });
    expect((body.stdout as string).split('\n')).toHaveLength(2);
    expect(body.stdout).toContain('ünïcode "q" \u0001');
    await hub.store.upsertRun({ id: 'empty' });
    await hub.store.finishRun('empty', { status: 'completed', exit_code: 0 });
    expect(await (await fetch(`${hub.url}/api/runs/empty/response`)).json()).toMatchObject({ success: true, stdout: '' });
  });
});

const strict = process.env.RUNLOG_TEST_STRICT === '1';

describe("the hub's disk full", () => {
  it('answers 507 STORAGE_FULL and says so in /healthz, then takes writes again once there is room, losing nothing it acknowledged', { timeout: 120_000 }, async (context) => {
    const mounted = mountTmpfs('4m');
    if ('reason' in mounted) {
      if (strict) throw new Error(`RUNLOG_TEST_STRICT=1: ${mounted.reason}`);
      console.warn(`skipped: ${mounted.reason} (needs root)`);
      context.skip();
      return;
    }
    const dataDir = join(mounted.dir, 'data');
    try {
      const hub = await newHub(dataDir);
      await fetch(`${hub.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'filling' }) });
      // most of the room taken by something else
      const filler = join(mounted.dir, 'filler');
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k', 'count=1000'], { stdio: 'ignore' }); // until the disk is full
      truncateSync(filler, statSync(filler).size - 600 * 1024); // then room for some lines
      const acknowledged: number[] = [];
      let refused: { status: number; body: { error: string; message: string } } | undefined;
      const payload = 'x'.repeat(2000);
      for (let seq = 1; seq <= 5000 && refused === undefined; seq += 50) {
        const records = Array.from({ length: 50 }, (_, i) => ({ seq: seq + i, timestamp: new Date().toISOString(), level: 'INFO', message: `${seq + i} ${payload}` }));
        const response = await fetch(`${hub.url}/api/runs/filling/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) });
        if (response.status === 200) acknowledged.push(...records.map((r) => r.seq));
        else refused = { status: response.status, body: (await response.json()) as { error: string; message: string } };
      }
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(refused?.status).toBe(507);
      expect(refused?.body.error).toBe('STORAGE_FULL');
      expect(refused?.body.message).toMatch(/full/);
      const health = await fetch(`${hub.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ ok: false, store: 'full', error: expect.stringMatching(/SQLITE_FULL|ENOSPC/) });

      rmSync(filler);
      const retried = Array.from({ length: 50 }, (_, i) => ({ seq: 100_000 + i, timestamp: new Date().toISOString(), level: 'INFO', message: 'after' }));
      const ok = await fetch(`${hub.url}/api/runs/filling/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records: retried }) });
      expect(ok.status).toBe(200);
      expect(await (await fetch(`${hub.url}/healthz`)).json()).toMatchObject({ ok: true });
      const stored = new Set((await hub.store.readLogs('filling', 0, 10_000)).map((record) => record.seq));
      for (const seq of [...acknowledged, ...retried.map((r) => r.seq)]) expect(stored.has(seq)).toBe(true);
      await hub.close();
      hubs = [];
    } finally {
      spawnSync('umount', ['-l', mounted.dir]);
    }
  });
});
