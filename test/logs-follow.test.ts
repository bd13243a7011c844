/** Issue 9, live progress in the terminal: `logs -f` and `submit --wait` follow a run as it prints. */
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { Run } from '../src/store/store.js';
import { CLI, cli, getJson, hubOn, PYTHON, tempDir, waitFor, type CliResult } from './helpers.js';

let hubs: RunningHub[] = [];
let children: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];
afterEach(async () => {
  for (const running of children) running.child.kill('SIGKILL');
  await Promise.all(hubs.map((hub) => hub.close()));
  hubs = [];
  children = [];
});

const BAR = `from tqdm import tqdm
import time
for _ in tqdm(range(40), ncols=60):
    time.sleep(0.05)
print("done")`;

/** `runlog ARGS` on a pseudo-terminal (util-linux `script`), its output as the terminal got it. */
function onTerminal(args: string[]): Promise<string> {
  const command = [process.execPath, CLI, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, RUNLOG_HUB: '', COLUMNS: '100' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(out)));
}

describe('following a run live (issue 9)', () => {
  it('draws the progress bar in place on a terminal and keeps its final state as a line; into a pipe, only lines', async (context) => {
    if (spawnSync('script', ['--version']).error) {
      if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error('util-linux `script` (a pseudo-terminal) is missing; strict mode: not skipping');
      console.warn('skipped: util-linux `script` is missing, no pseudo-terminal to draw on');
      return context.skip();
    }
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    const running = cli(['run', '--quiet', '--hub', hub.url, '--data', tempDir(), '--id', 'bar', '--', PYTHON, '-c', BAR]);
    children.push(running);
    await waitFor(async () => (await getJson(`${hub.url}/api/runs/bar`)).status === 200 || undefined, 20_000, 'the run');
    const [terminal, piped] = await Promise.all([onTerminal(['logs', 'bar', '-f', '--hub', hub.url]), cli(['logs', 'bar', '-f', '--hub', hub.url])]);
    expect((await running).code).toBe(0);
    // in place: each update returns to the start of the line and clears it
    expect(terminal).toMatch(/\r\x1b\[K\s*\d+%\|/);
    expect(terminal).toMatch(/100%\|[^\r\n]*40\/40[^\r\n]*\r?\n/);
    expect(terminal).toContain('done');
    expect(piped.stdout).not.toContain('\r');
    expect(piped.stdout.split('\n').filter((line) => line.includes('40/40'))).toHaveLength(1);
  });

  it('submit --wait prints the lines as they come, then the outcome', async () => {
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    const worker = cli(['worker', '--id', 'w-follow', '--hub', hub.url, '--data', tempDir(), '--heartbeat', '1', '--poll', '100ms']);
    children.push(worker);
    const submit = cli(['submit', '--hub', hub.url, '--id', 'streamed', '--wait', '60', '--', '/bin/sh', '-c', 'for i in $(seq 1 30); do echo "tick $i"; sleep 0.1; done']);
    children.push(submit);
    let seen = '';
    submit.child.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await waitFor(() => seen.includes('tick 3\n') || undefined, 30_000, 'the first lines');
    // printed while the run was still going
    expect((await getJson<Run>(`${hub.url}/api/runs/streamed`)).body.status).toBe('running');
    const result = await submit;
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean)).toEqual(Array.from({ length: 30 }, (_, i) => `tick ${i + 1}`));
    expect(result.stderr).toMatch(/run streamed completed in/);
  });

  it('logs -f --tail N with --grep or --level starts with the last N matching lines, as without -f, then follows', async () => {
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    // a matching line, then more lines than the tail that do not match, then (while followed) another match
    const script = 'echo "match 1"; echo "WARNING: warned 1"; for i in 1 2 3 4 5; do echo "other $i"; done; sleep 2; echo "match 2"; echo "WARNING: warned 2"; echo "other 6"';
    const running = cli(['run', '--quiet', '--hub', hub.url, '--data', tempDir(), '--id', 'tail-grep', '--', '/bin/sh', '-c', script]);
    children.push(running);
    await waitFor(async () => (await getJson<Run>(`${hub.url}/api/runs/tail-grep`)).body?.line_count > 6 || undefined, 20_000, 'the first lines');
    const [grep, level] = await Promise.all([
      cli(['logs', 'tail-grep', '-f', '--tail', '1', '--grep', 'MATCH', '--hub', hub.url]),
      cli(['logs', 'tail-grep', '-f', '--tail', '1', '--level', 'warning', '--hub', hub.url]),
    ]);
    expect((await running).code).toBe(0);
    expect(grep.code).toBe(0);
    expect(grep.stdout).toBe('match 1\nmatch 2\n');
    expect(level.stdout).toBe('WARNING: warned 1\nWARNING: warned 2\n');
  });

  it('logs -f --tail N past the live stream\'s 10,000 prints the last N lines as without -f (it was "stream closed: Non-200 status code (400)", exit 2)', async () => {
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    expect((await cli(['run', '--quiet', '--hub', hub.url, '--data', tempDir(), '--id', 'long-tail', '--', 'seq', '1', '10005'])).code).toBe(0);
    const followed = await cli(['logs', 'long-tail', '-f', '--tail', '10002', '--hub', hub.url]);
    expect([followed.code, followed.stderr]).toEqual([0, '']);
    const lines = followed.stdout.trimEnd().split('\n');
    expect([lines.length, lines[0], lines.at(-1)]).toEqual([10_002, '4', '10005']);
  });

  it('Ctrl-C on submit --wait stops the waiting, not the run, and says how to end it (it exited 130 saying nothing)', async () => {
    const hub = await hubOn(tempDir());
    hubs.push(hub);
    // no worker: the task stays queued
    const submit = cli(['submit', '--hub', hub.url, '--id', 'waited', '--wait', '60', '--', 'true']);
    children.push(submit);
    // watching it over SSE: past the task's creation, so its handler is set
    await waitFor(async () => (await getJson<{ subscribers: number }>(`${hub.url}/healthz`)).body.subscribers > 0 || undefined, 20_000, 'the watcher');
    submit.child.kill('SIGINT');
    const result = await submit;
    expect([result.code, result.stderr]).toEqual([130, 'runlog: stopped waiting (SIGINT); run waited goes on (`runlog cancel waited` ends it)\n']);
    expect((await getJson<Run>(`${hub.url}/api/runs/waited`)).body.status).toBe('queued');
  });
});
