/**
 * Heartbeats: what one carrying 100 worker lines costs the hub, and how many one hub sustains.
 *
 * Hub time: the hub built in-process without listening (buildApp + inject, so no network is
 * timed), a real SQLite file; each row sends 2,000 heartbeats one after the other and reports
 * the median and p99 time per heartbeat. Baseline: the same heartbeat with no lines (the price of
 * the request and the worker update alone).
 * Throughput: a real hub in its own process; 16 clients send 100-line heartbeats back to back
 * for 5 s over HTTP on 127.0.0.1; heartbeats/s the hub answered. Baseline: GET /healthz the same
 * way (the HTTP floor of this machine).
 */
import { fileURLToPath } from 'node:url';
import { fixed, int, isMain, markdownTable, percentile, printResult, removeDir, summary, tempDir } from './lib.js';
import { heartbeatBody, startHubProcess } from './hub-process.js';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const SEQUENTIAL = 2000;
const LINES = 100;
const CLIENTS = 16;
const SECONDS = 5;
const RUNS = 3;
const GOAL_MS = 5;

export async function run({ runs = RUNS } = {}) {
  const timing = { lines: [], empty: [], p99: [] };
  const rate = { heartbeats: [], healthz: [] };
  for (let r = 0; r < runs; r++) {
    const withLines = await hubTime(LINES);
    timing.lines.push(withLines.median);
    timing.p99.push(withLines.p99);
    timing.empty.push((await hubTime(0)).median);
    const hub = await startHubProcess('heartbeat');
    try {
      rate.heartbeats.push(await sustained(hub.url, true));
      rate.healthz.push(await sustained(hub.url, false));
    } finally {
      await hub.stop();
    }
  }
  return report(timing, rate, runs);
}

/** Median and p99 ms per heartbeat carrying `lines` lines, through buildApp().inject(). */
async function hubTime(lines) {
  const { buildApp } = await import(`${DIST}server/app.js`);
  const { SqliteStore } = await import(`${DIST}store/sqlite/store.js`);
  const { LiveFanout } = await import(`${DIST}pipeline/live.js`);
  const { resolveHubConfig } = await import(`${DIST}core/config.js`);
  const dir = tempDir('hb');
  const store = new SqliteStore(`${dir}/runlog.db`);
  const app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir: dir }) });
  await app.ready();
  const times = [];
  try {
    for (let i = 0; i < SEQUENTIAL; i++) {
      const payload = heartbeatBody(lines, i * lines + 1);
      const started = performance.now();
      const response = await app.inject({ method: 'POST', url: '/api/workers/w1/heartbeat', payload });
      times.push(performance.now() - started);
      if (response.statusCode !== 200) throw new Error(`heartbeat answered ${response.statusCode}: ${response.body}`);
    }
  } finally {
    await app.close();
    await store.close();
    removeDir(dir);
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), p99: percentile(times, 99) };
}

/** Requests/s the hub answers for CLIENTS clients sending back to back for SECONDS s. */
async function sustained(url, heartbeat) {
  const until = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      let seq = 1;
      while (performance.now() < until) {
        const response = heartbeat
          ? await fetch(`${url}/api/workers/w${client}/heartbeat`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(heartbeatBody(LINES, seq)),
            })
          : await fetch(`${url}/healthz`);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`hub answered ${response.status}`);
        seq += LINES;
        done++;
      }
    }),
  );
  return done / SECONDS;
}

function report(timing, rate, runs) {
  const lines = summary(timing.lines);
  const empty = summary(timing.empty);
  const p99 = summary(timing.p99);
  const beats = summary(rate.heartbeats);
  const healthz = summary(rate.healthz);
  const met = lines.median <= GOAL_MS;
  const range = (s, digits = 2) => `${fixed(s.min, digits)} – ${fixed(s.max, digits)}`;
  const table = markdownTable(
    ['measure', 'value (median)', 'min – max', 'baseline', 'baseline value', 'ratio to baseline', 'goal'],
    [
      ['hub time per heartbeat, 100 lines (ms)', fixed(lines.median), range(lines), 'heartbeat, no lines', fixed(empty.median), `${fixed(lines.median / empty.median)}×`, `≤ ${GOAL_MS}`],
      ['hub time per heartbeat, 100 lines, p99 (ms)', fixed(p99.median), range(p99), '', '', '', ''],
      [
        `heartbeats/s sustained (${CLIENTS} clients, HTTP)`,
        int(beats.median),
        `${int(beats.min)} – ${int(beats.max)}`,
        'GET /healthz',
        int(healthz.median),
        `${fixed(beats.median / healthz.median)}×`,
        '',
      ],
      [`worker lines/s stored that way`, int(beats.median * LINES), '', '', '', '', ''],
    ],
  );
  return {
    key: 'heartbeat',
    title: 'Heartbeats: hub time per heartbeat with 100 lines, and heartbeats/s',
    about:
      `Hub time: the hub built in-process (buildApp + inject, no network timed) on a real SQLite file; ${int(SEQUENTIAL)} heartbeats ` +
      `of ${LINES} worker lines each, one after the other; baseline: the same heartbeat without lines. Throughput: a real hub in ` +
      `its own process, ${CLIENTS} clients sending ${LINES}-line heartbeats back to back for ${SECONDS} s over HTTP on 127.0.0.1; ` +
      `baseline: GET /healthz the same way. Median (min – max) of ${runs} runs. Goal: ≤ ${GOAL_MS} ms per heartbeat.`,
    table,
    verdict: `${met ? '**Goal met**' : '**Goal not met**'}: ${fixed(lines.median)} ms of hub time per 100-line heartbeat (goal ≤ ${GOAL_MS}); one hub sustains ${int(beats.median)} heartbeats/s.`,
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
