/**
 * Auth: what tokens cost. Two hubs in child processes, side by side in one run: one without tokens
 * (loopback, open) and one with a token defined, where every request carries
 * `Authorization: Bearer …` and the hub checks it (a SHA-256 and a cached lookup per request) and
 * the run's writer key. Both measure the same two roads:
 *   capture    `bin/runlog run --hub URL --quiet -- python3 children/generate.py` of 300,000 lines
 *              of 100 bytes, wall time until runlog run exits (every line acknowledged), lines/s
 *   latency    the latency benchmark's road (1,000 lines/s for 5 s → hub → SSE viewer), p99
 * Each repetition runs every row once, alternating the hubs; the tables give medians.
 * Goal: auth costs at most 5 % of throughput and of the latency p99.
 *
 *   node bench/auth.js        (after npm run build)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubProcess } from './hub-process.js';
import { throughHub } from './latency.js';
import { fixed, int, isMain, makeBlock, markdownTable, printResult, removeDir, summary, tempDir, LINE_BYTES } from './lib.js';

const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));
const GENERATOR = fileURLToPath(new URL('./children/generate.py', import.meta.url));
const TICKER = fileURLToPath(new URL('./children/ticker.js', import.meta.url));
const PYTHON = '/usr/bin/python3';
const LINES = 300_000;
const RUNS = 4;
const GOAL_COST = 0.05;

export async function run({ runs = RUNS, lines = LINES } = {}) {
  const dir = tempDir('auth');
  const tokenDir = join(dir, 'hub-token');
  const token = await makeToken(tokenDir);
  const open = await startHubProcess('auth-open', join(dir, 'hub-open'));
  const guarded = await startHubProcess('auth-token', tokenDir);
  try {
    const sample = join(dir, 'sample.txt');
    writeFileSync(sample, Buffer.concat(Array.from({ length: 16 }, (_, b) => makeBlock(b * 1000, 1000))));
    const generate = [PYTHON, GENERATOR, sample, String(lines), String(LINE_BYTES)];
    const ticker = [process.execPath, TICKER, '1000', '5', '1000'];
    const rates = { open: [], token: [] };
    const p99 = { open: [], token: [] };
    for (let r = 0; r < runs; r++) {
      // which hub goes first changes each repetition: the first of a pair ran after the other's
      // latency road, the second after a capture, and a fixed order gave one of them the same seat every time
      const pair = r % 2 === 0 ? ['open', 'token'] : ['token', 'open'];
      for (const which of pair) {
        const hub = which === 'open' ? open : guarded;
        rates[which].push(lines / (await capture(hub.url, generate, join(dir, `c-${which}-${r}`), `auth-c-${which}-${r}`, which === 'open' ? undefined : token)));
      }
      for (const which of pair) {
        const hub = which === 'open' ? open : guarded;
        p99[which].push((await throughHub(hub.url, ticker, join(dir, `l-${which}-${r}`), `auth-l-${which}-${r}`, which === 'open' ? undefined : token)).p99);
      }
    }
    return report(rates, p99, runs, lines);
  } finally {
    await open.stop();
    await guarded.stop();
    removeDir(dir);
  }
}

/** A write token on the local store of `dataDir`, made before its hub starts. */
async function makeToken(dataDir) {
  const child = spawn(process.execPath, [CLI, 'token', 'create', 'bench', '--scope', 'write,read', '--hub', 'none', '--data', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`auth bench: runlog token create exited ${code}`);
  return out.trim();
}

/** Seconds for `runlog run --hub` to ship every line of the command and exit. */
async function capture(hub, command, dataDir, id, token) {
  const start = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', '--hub', hub, '--quiet', '--data', dataDir, '--id', id, '--', ...command], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: token === undefined ? process.env : { ...process.env, RUNLOG_TOKEN: token },
  });
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`auth bench: runlog run exited ${code}`);
  return (performance.now() - start) / 1000;
}

function report(rates, p99, runs, lines) {
  const open = summary(rates.open);
  const guarded = summary(rates.token);
  const openP99 = summary(p99.open);
  const tokenP99 = summary(p99.token);
  const throughputCost = 1 - guarded.median / open.median;
  const latencyCost = tokenP99.median / openP99.median - 1;
  const met = throughputCost <= GOAL_COST && latencyCost <= GOAL_COST;
  const pct = (x) => `${x >= 0 ? '+' : ''}${fixed(x * 100, 1)} %`;
  return {
    key: 'auth',
    title: 'Auth: what a token costs',
    about:
      `Two hubs side by side in one run: one without tokens, one with a token that every request carries. ` +
      `Capture: \`bin/runlog run --hub <url> --quiet\` of ${int(lines)} lines of ${LINE_BYTES} bytes, wall time until it exits. ` +
      `Latency: 1,000 lines/s for 5 s → hub → SSE viewer, p99. Median (min – max) of ${runs} runs, the hubs alternating (which goes first changes each run). ` +
      `Goal: the token costs at most ${GOAL_COST * 100} % of throughput and of the p99.`,
    table: markdownTable(
      ['road', 'no token', 'min – max', 'with a token', 'min – max', 'cost of the token'],
      [
        ['capture, lines/s', int(open.median), `${int(open.min)} – ${int(open.max)}`, int(guarded.median), `${int(guarded.min)} – ${int(guarded.max)}`, pct(-throughputCost)],
        ['latency p99, ms', fixed(openP99.median), `${fixed(openP99.min)} – ${fixed(openP99.max)}`, fixed(tokenP99.median), `${fixed(tokenP99.min)} – ${fixed(tokenP99.max)}`, pct(latencyCost)],
      ],
    ),
    verdict: `${met ? '**Goal met**' : '**Goal not met**'}: throughput ${pct(-throughputCost)}, latency p99 ${pct(latencyCost)} with a token (goal: a cost ≤ ${GOAL_COST * 100} %).`,
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
