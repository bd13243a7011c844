/**
 * A fleet: 1,000 simulated workers heartbeating every 20 s (10 lines each) against one hub in its
 * own process. Their first beats are spread over the interval, as real workers' are, so the hub
 * sees 50 heartbeats/s; 30 s of it are measured. Reported: the hub's CPU share (CPU seconds it
 * used / wall seconds, from /proc) and the p50/p99 latency of a heartbeat as a worker sees it.
 * Baseline: the same hub idle for the same 30 s.
 */
import { fixed, int, isMain, markdownTable, percentile, printResult, summary } from './lib.js';
import { heartbeatBody, startHubProcess } from './hub-process.js';

const WORKERS = 1000;
const INTERVAL_S = 20;
const LINES = 10;
const MEASURE_S = 30;
const RUNS = 1; // one 30 s window: the figures barely move between runs, and npm run bench stays near 5 min

export async function run({ runs = RUNS } = {}) {
  const share = [];
  const idle = [];
  const p50 = [];
  const p99 = [];
  let sent = 0;
  for (let r = 0; r < runs; r++) {
    const hub = await startHubProcess('fleet');
    try {
      idle.push(await cpuShare(hub, () => new Promise((resolve) => setTimeout(resolve, MEASURE_S * 1000))));
      const latencies = [];
      share.push(await cpuShare(hub, () => fleet(hub.url, latencies)));
      latencies.sort((a, b) => a - b);
      p50.push(percentile(latencies, 50));
      p99.push(percentile(latencies, 99));
      sent = latencies.length;
    } finally {
      await hub.stop();
    }
  }
  return report({ share: summary(share), idle: summary(idle), p50: summary(p50), p99: summary(p99), sent, runs });
}

async function cpuShare(hub, during) {
  const cpu = hub.cpuSeconds();
  const started = performance.now();
  await during();
  return (hub.cpuSeconds() - cpu) / ((performance.now() - started) / 1000);
}

/** Every worker beats every INTERVAL_S, its first beat at a random point of the first interval. */
async function fleet(url, latencies) {
  const until = performance.now() + MEASURE_S * 1000;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      let seq = 1;
      let next = performance.now() + Math.random() * INTERVAL_S * 1000;
      for (;;) {
        const wait = next - performance.now();
        if (next >= until) return;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const started = performance.now();
        const response = await fetch(`${url}/api/workers/fleet-${w}/heartbeat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...heartbeatBody(LINES, seq), heartbeat_interval_s: INTERVAL_S }),
        });
        await response.arrayBuffer();
        latencies.push(performance.now() - started);
        seq += LINES;
        next += INTERVAL_S * 1000;
      }
    }),
  );
}

function report({ share, idle, p50, p99, sent, runs }) {
  const pct = (s) => `${fixed(s.median * 100, 1)} %`;
  const range = (s, scale = 1, digits = 1) => `${fixed(s.min * scale, digits)} – ${fixed(s.max * scale, digits)}`;
  const table = markdownTable(
    ['measure', 'value (median)', 'min – max', 'baseline (hub idle)', 'ratio to baseline'],
    [
      ['hub CPU share (of one core)', pct(share), range(share, 100), pct(idle), `${fixed(share.median / Math.max(idle.median, 0.001), 1)}×`],
      ['heartbeat latency p50 (ms)', fixed(p50.median), range(p50, 1, 2), '', ''],
      ['heartbeat latency p99 (ms)', fixed(p99.median), range(p99, 1, 2), '', ''],
      ['heartbeats in the window (last run)', int(sent), '', '', ''],
    ],
  );
  return {
    key: 'fleet',
    title: `Fleet: ${int(WORKERS)} workers heartbeating every ${INTERVAL_S} s`,
    about:
      `${int(WORKERS)} simulated workers (one process, fetch over 127.0.0.1) send a heartbeat with ${LINES} lines every ${INTERVAL_S} s, ` +
      `their first beats spread over the interval (${fixed(WORKERS / INTERVAL_S, 0)} heartbeats/s), to one hub in its own process; ` +
      `${MEASURE_S} s measured (${runs} run${runs === 1 ? '' : 's'}). CPU share = the hub's CPU seconds (user + system, /proc) / wall seconds. ` +
      'Baseline: the same hub idle for the same time. No goal is set by the issue beyond reporting these.',
    table,
    verdict: `**Measured**: one hub serves ${int(WORKERS)} workers with ${pct(share)} of a core; a heartbeat takes ${fixed(p50.median)} ms (p50), ${fixed(p99.median)} ms (p99).`,
    met: true,
  };
}

if (isMain(import.meta.url)) printResult(await run());
