/**
 * Latency: how long a printed line takes to reach a live viewer, through the real road:
 *
 *   children/ticker.js (1,000 lines/s for 10 s, each stamped with its print time)
 *     → `bin/runlog run --hub URL --quiet` (Runner + HubShipper, a child process)
 *     → `bin/runlog server --port 0` (ingest, SQLite commit, live fan-out, a child process)
 *     → SSE → an `eventsource` client in this process, which notes when each line arrives.
 *
 * The viewer subscribes once `runlog run` has created the run; the ticker prints its first line
 * 1 s after it starts, so no line is printed before the viewer listens (it is warned about if one is).
 * Per line, latency = receive time − print time, both on the wall clock (performance.timeOrigin +
 * performance.now(), the same clock in every process). Baseline: the same ticker read directly
 * from a pipe by this process, measured the same way. Each repetition runs the baseline then the
 * hub road, then the hub road again with the write-ahead log off (RUNLOG_WAL=off: lines wait in
 * memory only), so the cost of durability shows as its own column; the tables give the median over
 * repetitions of each run's p50, p99 and max.
 *
 *   node bench/latency.js        (after npm run build)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { startHubProcess } from './hub-process.js';
import { fixed, int, isMain, markdownTable, percentile, printResult, removeDir, summary, tempDir, wallMs } from './lib.js';

const RATE = 1000; // lines a second
const SECONDS = 10;
const RUNS = 3;
const GOAL = { p50: 10, p99: 50 }; // ms
const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));
const TICKER = fileURLToPath(new URL('./children/ticker.js', import.meta.url));
const START_DELAY_MS = 1000; // the ticker's first line comes this long after it starts
const RUN_WAIT_MS = 15_000; // the run must appear on the hub within this
const END_WAIT_MS = 15_000; // and its stream end within this after runlog run exits

export async function run({ runs = RUNS, seconds = SECONDS, rate = RATE } = {}) {
  const dir = tempDir('latency');
  const hub = await startHubProcess('latency', join(dir, 'hub'));
  try {
    const ticker = [process.execPath, TICKER, String(rate), String(seconds), String(START_DELAY_MS)];
    const results = { baseline: [], hub: [], noWal: [] };
    for (let r = 0; r < runs; r++) {
      results.baseline.push(await throughPipe(ticker));
      results.hub.push(await throughHub(hub.url, ticker, join(dir, `run-${r}`), `bench-latency-${r}`));
      results.noWal.push(await throughHub(hub.url, ticker, join(dir, `nowal-${r}`), `bench-latency-nowal-${r}`, undefined, { RUNLOG_WAL: 'off' }));
    }
    return report(results, { runs, seconds, rate });
  } finally {
    await hub.stop();
    removeDir(dir);
  }
}

/** Baseline: the ticker's stdout read here, straight from the pipe. */
async function throughPipe(ticker) {
  const child = spawn(ticker[0], ticker.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const latencies = [];
  let rest = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (text) => {
    const received = wallMs();
    const lines = (rest + text).split('\n');
    rest = lines.pop();
    for (const line of lines) latencies.push(received - printTime(line));
  });
  await once(child, 'close');
  return percentiles(latencies, Number(ticker[2]) * Number(ticker[3]));
}

/** The real road: `runlog run --hub` ships the ticker's lines, an SSE client receives them (with `token`, on a hub with tokens; `env`: more environment for runlog run). */
export async function throughHub(hub, ticker, dataDir, id, token, env = {}) {
  const auth = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const cli = spawn(process.execPath, [CLI, 'run', '--hub', hub, '--quiet', '--data', dataDir, '--id', id, '--', ...ticker], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...(token === undefined ? {} : { RUNLOG_TOKEN: token }), ...env },
  });
  const cliClosed = once(cli, 'close');
  const latencies = [];
  let firstPrinted;
  let source;
  try {
    // the runner creates the run first; the ticker waits START_DELAY_MS before its first line,
    // so the viewer is listening before it (after=0: had it not been, nothing would be missed)
    await runExists(hub, id, cliClosed, auth);
    source = new EventSource(`${hub}/api/runs/${id}/logs/stream?after=0`, { fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...auth } }) });
    const ended = new Promise((resolve, reject) => {
      source.addEventListener('log', (event) => {
        const received = wallMs();
        const printed = printTime(JSON.parse(event.data).message);
        firstPrinted ??= printed;
        latencies.push(received - printed);
      });
      source.addEventListener('end', resolve);
      source.addEventListener('error', (event) => reject(new Error(`latency bench: SSE error: ${event.message ?? event.type}`)));
    });
    ended.catch(() => {}); // awaited below; do not let an early error go unhandled meanwhile
    const opened = new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
    await within(Promise.race([opened, ended]), RUN_WAIT_MS, 'the SSE stream did not open');
    const subscribedAt = wallMs();

    const [code] = await cliClosed;
    if (code !== 0) throw new Error(`latency bench: runlog run exited ${code}`);
    await within(ended, END_WAIT_MS, 'the run ended but its SSE stream did not');
    if (firstPrinted < subscribedAt) process.stderr.write('latency bench: warning: the viewer subscribed after the first line was printed\n');
  } finally {
    source?.close();
    if (cli.exitCode === null) cli.kill('SIGTERM');
  }
  return percentiles(latencies, Number(ticker[2]) * Number(ticker[3]));
}

/** Polls until the run exists on the hub (the runner creates it as it starts). */
async function runExists(hub, id, cliClosed, headers = {}) {
  let closed = false;
  cliClosed.then(() => (closed = true));
  const deadline = performance.now() + RUN_WAIT_MS;
  while (performance.now() < deadline && !closed) {
    const response = await fetch(`${hub}/api/runs/${id}`, { headers });
    await response.arrayBuffer();
    if (response.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`latency bench: run ${id} did not appear on the hub (${closed ? 'runlog run exited' : 'timeout'})`);
}

/** `promise`, or an error saying `what` when it takes longer than `ms`. */
async function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`latency bench: ${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `<seq> <print time> ....` → the print time, ms since the epoch */
function printTime(line) {
  const space = line.indexOf(' ');
  return Number(line.slice(space + 1, line.indexOf(' ', space + 1)));
}

export function percentiles(latencies, expected) {
  if (latencies.length !== expected) throw new Error(`latency bench: received ${latencies.length} lines, expected ${expected}`);
  const sorted = latencies.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

function report(results, { runs, seconds, rate }) {
  const rows = [];
  let met = true;
  for (const key of ['p50', 'p99', 'max']) {
    const hub = summary(results.hub.map((r) => r[key]));
    const noWal = summary(results.noWal.map((r) => r[key]));
    const base = summary(results.baseline.map((r) => r[key]));
    const goal = GOAL[key];
    if (goal !== undefined && hub.median > goal) met = false;
    rows.push([
      key,
      fixed(hub.median),
      `${fixed(hub.min)} – ${fixed(hub.max)}`,
      fixed(noWal.median),
      signedMs(hub.median - noWal.median),
      fixed(base.median),
      `${fixed(base.min)} – ${fixed(base.max)}`,
      `${fixed(hub.median / base.median, 1)}×`,
      goal === undefined ? '' : `≤ ${goal}`,
    ]);
  }
  const hub50 = summary(results.hub.map((r) => r.p50)).median;
  const hub99 = summary(results.hub.map((r) => r.p99)).median;
  return {
    key: 'latency',
    title: 'Latency: from print to a live SSE viewer',
    about:
      `A command prints ${int(rate)} lines a second for ${seconds} s, each stamped with its print time, under ` +
      '`bin/runlog run --hub <url> --quiet`; a real hub (`bin/runlog server --port 0`, 127.0.0.1) stores and fans ' +
      'them out; an `eventsource` client notes when each arrives. Latency = receive − print, per line. ' +
      'The "WAL off" column is the same road with the write-ahead log off (`RUNLOG_WAL=off`), in the same repetitions: ' +
      'the difference is what durability costs a line. ' +
      `The baseline reads the same command from a plain pipe. Median (and min – max) of ${runs} runs of ` +
      `${int(rate * seconds)} lines each. Goal: p50 ≤ ${GOAL.p50} ms, p99 ≤ ${GOAL.p99} ms.`,
    table: markdownTable(
      ['latency', 'runlog → hub → SSE, ms', 'min – max', 'same, WAL off, ms', 'cost of the WAL, ms', 'baseline pipe, ms', 'min – max', 'ratio to baseline', 'goal, ms'],
      rows,
    ),
    verdict: met
      ? `**Goal met**: p50 ${fixed(hub50)} ms (goal ≤ ${GOAL.p50}), p99 ${fixed(hub99)} ms (goal ≤ ${GOAL.p99}).`
      : `**Goal not met**: p50 ${fixed(hub50)} ms (goal ≤ ${GOAL.p50}), p99 ${fixed(hub99)} ms (goal ≤ ${GOAL.p99}).`,
    met,
  };
}

/** +0.3 / −0.1 ms: a negative cost is noise */
function signedMs(n) {
  return n < 0 ? `−${fixed(-n)}` : `+${fixed(n)}`;
}

if (isMain(import.meta.url)) printResult(await run());
