/**
 * The Workers and Logs pages in a real browser: a real `runlog worker` heartbeating into a real
 * hub, its GPUs read by the stand-in nvidia-smi (test/fixtures) from a real capture of the corpus.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startHub } from '../../src/server/listen.js';
import { corpusDir } from '../corpus.js';
import { cli, FIXTURES, tempDir, type CliResult } from '../helpers.js';
import { errorsOf, gate, hashOf } from './browser.js';
import { describeInBrowser, useBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the Workers, Logs and Runs pages', () => {
  const suite = useHubAndBrowser();
  const tab = (path: string) => suite.tab(path);
  const workers: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];
  afterAll(() => {
    for (const worker of workers) worker.child.kill('SIGKILL');
  });

  /** `runlog worker` with two GPUs (a dual RTX A5000 capture), heartbeating every second; undefined without the corpus */
  let gpuWorker: string | undefined;
  function startGpuWorker(): string | undefined {
    if (gpuWorker !== undefined) return gpuWorker;
    const captures = corpusDir('nvidia_smi', 'e2e workers');
    if (captures === undefined) return undefined;
    const capture = readdirSync(captures).find((name) => name.startsWith('telegraf_dual_a5000'));
    if (capture === undefined) throw new Error(`no telegraf_dual_a5000 capture in ${captures}`);
    workers.push(
      cli(['worker', '--id', 'gpu-box', '--hub', suite.hub.url, '--heartbeat', '1', '--poll', '200ms', '--data', tempDir()], {
        PATH: `${FIXTURES}:${process.env.PATH}`,
        FAKE_NVIDIA_SMI_CAPTURE: join(captures, capture),
      }),
    );
    gpuWorker = 'gpu-box';
    return gpuWorker;
  }

  it('shows a heartbeating worker as a card with a memory and a utilisation bar per GPU', async () => {
    const id = startGpuWorker();
    if (id === undefined) return; // no corpus, said above
    const page = await tab('#/workers');
    const card = page.locator(`[data-testid="worker-card"][data-worker-id="${id}"]`);
    await card.waitFor({ timeout: 20_000 });
    await expect.poll(() => card.getByTestId('gpu').count(), { timeout: 20_000 }).toBe(2);
    expect(await card.getByTestId('worker-status').getAttribute('data-status')).toBe('active');
    expect(await card.getByTestId('gpu').first().textContent()).toContain('RTX A5000');
    // each GPU has its two bars, drawn to the capture's figures (a bar of width 0 is still a bar)
    expect(await card.getByTestId('gpu-memory').count()).toBe(2);
    expect(await card.getByTestId('gpu-util').count()).toBe(2);
    const memoryTitles = await card.getByTestId('gpu-memory').evaluateAll((meters) => meters.map((meter) => meter.getAttribute('title')));
    for (const title of memoryTitles) expect(title).toMatch(/^\d+ %$/);
    expect(await card.getByTestId('gpu-memory').first().textContent()).toMatch(/memory .+ \/ .+/);
    // its heartbeat age ticks in the page
    expect(await card.getByTestId('heartbeat-age').textContent()).toMatch(/heartbeat/);
    expect(errorsOf(page)).toEqual([]);
  });

  it("lists a worker's own lines on the Logs page, and new ones live", async () => {
    const id = startGpuWorker();
    if (id === undefined) return;
    const page = await tab(`#/logs?worker=${id}`);
    const rows = page.getByTestId('system-log-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.getByTestId('logs-live').check();
    await expect.poll(() => hashOf(page)).toContain('live=1');
    await page.waitForTimeout(500); // the stream opens
    // a task for the worker: its "claimed task" line appears at the top without a reload
    const response = await fetch(`${suite.hub.url}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'task-for-logs', command: ['/bin/sh', '-c', 'echo hi'] }),
    });
    expect(response.status).toBe(201);
    const claimed = rows.filter({ hasText: 'claimed task task-for-logs' });
    await claimed.first().waitFor({ timeout: 20_000 });
    // the line links to its task's run
    expect(await claimed.first().locator('a.task-chip').getAttribute('href')).toBe('#/runs/task-for-logs');
    expect(errorsOf(page)).toEqual([]);
  });

  it('shows new runs and their status changes on the Runs page without a reload', async () => {
    const page = await tab('#/runs');
    await page.getByTestId('runs-table').waitFor();
    const go = gate(); // the run ends when the test has seen it running
    const run = cli(['run', '--quiet', '--hub', suite.hub.url, '--id', 'appears-live', '--data', tempDir(), '--', '/bin/sh', '-c', `echo one; ${go.sh}; echo two`]);
    const row = page.locator('[data-testid="run-row"][data-run-id="appears-live"]');
    await row.locator('[data-status="running"]').waitFor({ timeout: 20_000 });
    go.open();
    expect((await run).code).toBe(0);
    await row.locator('[data-status="completed"]').waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain('echo one; i=0; while');
    // a click opens the run
    await row.click();
    await expect.poll(() => hashOf(page)).toBe('#/runs/appears-live');
    await page.getByTestId('log-row').filter({ hasText: 'two' }).waitFor({ timeout: 10_000 });
    expect(errorsOf(page)).toEqual([]);
  });

  it('filters the runs by text on the hub, past the newest ones loaded, and new runs only if they match', async () => {
    // 600 runs: more than the page loads (500), the one sought the oldest
    const create = (id: string, name: string) =>
      fetch(`${suite.hub.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, name, command: 'true' }) });
    expect((await create('needle-oldest', 'the needle run')).status).toBe(201);
    for (let batch = 0; batch < 600; batch += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => create(`hay-${batch + i}`, 'hay')));
    }
    const page = await tab('#/runs');
    await page.getByTestId('runs-table').waitFor();
    expect(await page.locator('[data-testid="run-row"][data-run-id="needle-oldest"]').count()).toBe(0); // not among the newest 500

    await page.getByTestId('runs-filter').fill('NEEDLE');
    await expect.poll(async () => page.getByTestId('run-row').evaluateAll((rows) => rows.map((row) => (row as unknown as { dataset: { runId: string } }).dataset.runId)), { timeout: 10_000 }).toEqual(['needle-oldest']);
    expect(await hashOf(page)).toContain('q=NEEDLE');
    // live, while filtered: a new matching run appears, a new other one does not
    await create('hay-late', 'hay');
    await create('needle-new', 'another needle');
    await page.locator('[data-testid="run-row"][data-run-id="needle-new"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="run-row"][data-run-id="hay-late"]').count()).toBe(0);
    expect(errorsOf(page)).toEqual([]);
  });
  it("says an offline worker's state and task were its last heartbeat's, not what it is doing", async () => {
    const beat = { status: 'busy', current_task_id: 't-gone', heartbeat_interval_s: 1, logs: [] };
    expect((await fetch(`${suite.hub.url}/api/workers/gone-busy/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(beat) })).status).toBe(200);
    const page = await tab('#/workers');
    const card = page.locator('[data-testid="worker-card"][data-worker-id="gone-busy"]');
    await card.waitFor({ timeout: 20_000 });
    expect(await card.getByTestId('worker-state').textContent()).toBe('busy');
    // no heartbeat for more than 5 intervals: offline, and the card no longer says "busy"
    await expect.poll(() => card.getByTestId('worker-status').getAttribute('data-status'), { timeout: 20_000 }).toBe('offline');
    expect(await card.getByTestId('worker-state').textContent()).toBe('was busy');
    expect(await card.textContent()).toContain('last task t-gone');
    expect(errorsOf(page)).toEqual([]);
  });
});

describeInBrowser('the Workers page, when a worker dies mid-task', () => {
  const browser = useBrowser();

  it('stops naming the task once the hub has failed its run, without a reload', async () => {
    // a hub of its own: no other worker claims the task
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), ssePingMs: 1000, housekeepingMs: 300 }, { audit: () => {} });
    const worker = cli(['worker', '--id', 'w-dies-ui', '--hub', hub.url, '--heartbeat', '1', '--poll', '100ms', '--data', tempDir()]);
    try {
      const response = await fetch(`${hub.url}/api/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 't-kill', command: ['/bin/sh', '-c', 'sleep 600'] }),
      });
      expect(response.status).toBe(201);
      const page = await browser.open(`${hub.url}/#/workers`);
      const card = page.locator('[data-testid="worker-card"][data-worker-id="w-dies-ui"]');
      await card.getByTestId('worker-task').filter({ hasText: 't-kill' }).waitFor({ timeout: 20_000 });
      worker.child.kill('SIGKILL');
      await card.locator('[data-testid="worker-status"][data-status="offline"]').waitFor({ timeout: 30_000 });
      await expect.poll(() => card.getByTestId('worker-task').count(), { timeout: 10_000 }).toBe(0);
      expect(errorsOf(page)).toEqual([]);
    } finally {
      worker.child.kill('SIGKILL');
      await hub.close();
    }
  });
});

