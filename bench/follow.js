/**
 * Follow: files into runs (issue 11).
 *
 * 1. Latency, local file: children/ticker.js (1,000 lines/s for 10 s, each stamped with its print
 *    time) appends to a file; `bin/runlog follow FILE --hub URL` ships it to a real hub (child
 *    process); an `eventsource` client notes when each line arrives. Baseline: `tail -c +1 -F FILE`
 *    read from a pipe here, the same lines measured the same way. Goal: p99 ≤ 250 ms.
 * 2. Throughput: a 1,000,000-line file (100 MB) read by a FileFollower into a RecordBuilder (the
 *    follower's own cost: read, split, level, records) and, end to end, `runlog follow
 *    --until-idle` until the hub has every line. Baselines: `wc -l` and node reading the file and
 *    counting its newlines. Goal: ≥ 300k lines/s for the follower.
 * 3. Over ssh (when /usr/sbin/sshd is there and this runs as root): a real sshd on 127.0.0.1 with
 *    its own keys, reached through a TCP proxy here that counts the bytes coming from sshd; the
 *    ticker's file followed as `ssh://root@127.0.0.1:PORT/FILE`. Bytes on the wire vs the file's
 *    growth (goal ≤ +5 %) and latency (goal p99 ≤ 500 ms).
 *
 *   node bench/follow.js        (after npm run build)
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { FileFollower } from '../dist/sources/file/follower.js';
import { RecordBuilder } from '../dist/pipeline/records.js';
import { startHubProcess } from './hub-process.js';
import { SSHD, startSshdIn } from '../test/sshd-server.js';
import { fixed, int, isMain, makeBlock, markdownTable, percentile, printResult, removeDir, tempDir, wallMs } from './lib.js';

const RATE = 1000;
const SECONDS = 10;
const BIG_LINES = 1_000_000;
const GOAL = { localP99: 250, throughput: 300_000, sshP99: 500, sshOverhead: 0.05 };
const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));
const TICKER = fileURLToPath(new URL('./children/ticker.js', import.meta.url));
const START_DELAY_MS = 1500;

export async function run({ seconds = SECONDS, rate = RATE, bigLines = BIG_LINES } = {}) {
  const dir = tempDir('follow');
  const hub = await startHubProcess('follow', join(dir, 'hub'));
  try {
    const baseline = await tailLatency(dir, seconds, rate);
    const local = await followLatency(hub.url, dir, seconds, rate);
    const throughput = await followThroughput(hub.url, dir, bigLines);
    const ssh = await sshFigures(hub.url, dir, seconds, rate);
    return report({ baseline, local, throughput, ssh, seconds, rate, bigLines });
  } finally {
    await hub.stop();
    removeDir(dir);
  }
}

/** The ticker, its stdout appended to `file`. */
function tickerInto(file, seconds, rate) {
  const fd = openSync(file, 'a');
  const child = spawn(process.execPath, [TICKER, String(rate), String(seconds), String(START_DELAY_MS)], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  return once(child, 'close');
}

function printTime(line) {
  const space = line.indexOf(' ');
  return Number(line.slice(space + 1, line.indexOf(' ', space + 1)));
}

function percentiles(latencies, expected, what) {
  if (latencies.length !== expected) throw new Error(`follow bench: ${what}: received ${latencies.length} lines, expected ${expected}`);
  const sorted = latencies.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

/** Baseline: `tail -F` on the file, read here from a pipe. */
async function tailLatency(dir, seconds, rate) {
  const file = join(dir, 'tail.log');
  writeFileSync(file, '');
  const tail = spawn('tail', ['-c', '+1', '-F', file], { stdio: ['ignore', 'pipe', 'ignore'] });
  const latencies = [];
  let rest = '';
  tail.stdout.setEncoding('latin1');
  tail.stdout.on('data', (text) => {
    const received = wallMs();
    const lines = (rest + text).split('\n');
    rest = lines.pop();
    for (const line of lines) latencies.push(received - printTime(line));
  });
  await tickerInto(file, seconds, rate);
  await waitUntil(() => latencies.length >= seconds * rate, 15_000, 'tail to catch up');
  tail.kill('SIGTERM');
  return percentiles(latencies, seconds * rate, 'tail -F');
}

/** `runlog follow` of a file the ticker writes, seen by an SSE viewer. */
async function followLatency(hub, dir, seconds, rate, target, extraArgs = [], runId = 'bench-follow-local') {
  const file = join(dir, `${runId}.log`);
  writeFileSync(file, '');
  const follower = spawn(process.execPath, [CLI, 'follow', target ?? file, '--run', runId, '--hub', hub, '--data', join(dir, `data-${runId}`), ...extraArgs], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const latencies = [];
  let source;
  try {
    await waitUntil(async () => (await fetch(`${hub}/api/runs/${runId}`)).ok, 15_000, 'the run to exist');
    source = new EventSource(`${hub}/api/runs/${runId}/logs/stream?after=0`);
    source.addEventListener('log', (event) => {
      const received = wallMs();
      latencies.push(received - printTime(JSON.parse(event.data).message));
    });
    await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
    await tickerInto(file, seconds, rate);
    await waitUntil(() => latencies.length >= seconds * rate, 20_000, `${runId}: every line on the viewer`);
  } finally {
    source?.close();
    follower.kill('SIGTERM');
    await once(follower, 'close');
  }
  return { ...percentiles(latencies, seconds * rate, runId), file };
}

async function followThroughput(hub, dir, lines) {
  const file = join(dir, 'big.log');
  const fd = openSync(file, 'w');
  for (let i = 0; i < lines; i += 10_000) writeSync(fd, makeBlock(i, Math.min(10_000, lines - i)));
  closeSync(fd);

  let start = performance.now();
  const wc = Number(execFileSync('wc', ['-l', file], { encoding: 'utf8' }).trim().split(' ')[0]);
  const wcSeconds = (performance.now() - start) / 1000;
  if (wc !== lines) throw new Error(`follow bench: wc counted ${wc}`);

  start = performance.now();
  let count = 0;
  const data = readFileSync(file);
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) count++;
  const nodeSeconds = (performance.now() - start) / 1000;
  if (count !== lines) throw new Error(`follow bench: node counted ${count}`);

  // the follower alone: read, split, level, records (a sink that only counts)
  start = performance.now();
  let records = 0;
  const builder = new RecordBuilder({ stream: 'big', sink: { record: () => records++, progress: () => {} } });
  const follower = new FileFollower({ patterns: [file], target: builder, pollMs: 60_000 });
  follower.start();
  follower.stop(true);
  const followerSeconds = (performance.now() - start) / 1000;
  if (records !== lines) throw new Error(`follow bench: the follower made ${records} records`);

  // end to end: until the hub has the last line
  start = performance.now();
  const cli = spawn(process.execPath, [CLI, 'follow', file, '--run', 'bench-follow-big', '--hub', hub, '--data', join(dir, 'data-big'), '--until-idle', '1s', '--flush-timeout', '10m'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitUntil(
    async () => {
      const response = await fetch(`${hub}/api/runs/bench-follow-big/logs?tail=1`);
      if (!response.ok) return false;
      const body = await response.json();
      return body.logs[0]?.seq === lines;
    },
    600_000,
    'the hub to have every line',
    20,
  );
  const hubSeconds = (performance.now() - start) / 1000;
  cli.kill('SIGTERM');
  await once(cli, 'close');
  return { lines, bytes: statSync(file).size, wcSeconds, nodeSeconds, followerSeconds, hubSeconds };
}

async function sshFigures(hub, dir, seconds, rate) {
  if (!existsSync(SSHD) || process.getuid?.() !== 0) return { skipped: `${SSHD} missing or not root` };
  // the tests' sshd (test/sshd-server.js): one config for both
  const sshd = await startSshdIn(join(dir, 'sshd'));
  const proxy = await countingProxy(sshd.port);
  try {
    const runId = 'bench-follow-ssh';
    const file = join(dir, `${runId}.log`);
    const url = `ssh://root@127.0.0.1:${proxy.port}${file}`;
    const result = await followLatency(hub, dir, seconds, rate, url, ['--ssh-option', sshd.sshOption], runId);
    return { ...result, wireBytes: proxy.bytes(), fileBytes: statSync(result.file).size };
  } finally {
    proxy.close();
    sshd.process.kill('SIGTERM');
  }
}

/** A TCP proxy to `port` that counts the bytes sent from there to the client. */
function countingProxy(port) {
  let bytes = 0;
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    upstream.on('data', (chunk) => (bytes += chunk.length));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: server.address().port, bytes: () => bytes, close: () => server.close() }),
    ),
  );
}

async function waitUntil(probe, ms, what, everyMs = 50) {
  const deadline = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`follow bench: waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

function report({ baseline, local, throughput, ssh, seconds, rate, bigLines }) {
  const t = throughput;
  const perSecond = (s) => t.lines / s;
  const rows = [
    ['latency p50, ms', fixed(local.p50), fixed(baseline.p50), `${fixed(local.p50 / baseline.p50, 1)}×`, ''],
    ['latency p99, ms', fixed(local.p99), fixed(baseline.p99), `${fixed(local.p99 / baseline.p99, 1)}×`, `≤ ${GOAL.localP99}`],
    ['latency max, ms', fixed(local.max), fixed(baseline.max), `${fixed(local.max / baseline.max, 1)}×`, ''],
    ['follower lines/s (read, split, records)', int(perSecond(t.followerSeconds)), `${int(perSecond(t.nodeSeconds))} (node counting \\n)`, `${fixed(t.nodeSeconds / t.followerSeconds, 2)}×`, `≥ ${int(GOAL.throughput)}`],
    ['file → hub lines/s (runlog follow, end to end)', int(perSecond(t.hubSeconds)), `${int(perSecond(t.wcSeconds))} (wc -l)`, `${fixed(t.wcSeconds / t.hubSeconds, 3)}×`, ''],
  ];
  let met = local.p99 <= GOAL.localP99 && perSecond(t.followerSeconds) >= GOAL.throughput;
  let sshVerdict = `ssh: skipped (${ssh.skipped})`;
  if (!ssh.skipped) {
    const overhead = ssh.wireBytes / ssh.fileBytes - 1;
    rows.push(
      ['ssh latency p50, ms', fixed(ssh.p50), fixed(baseline.p50), `${fixed(ssh.p50 / baseline.p50, 1)}×`, ''],
      ['ssh latency p99, ms', fixed(ssh.p99), fixed(baseline.p99), `${fixed(ssh.p99 / baseline.p99, 1)}×`, `≤ ${GOAL.sshP99}`],
      ['ssh bytes on the wire / file growth', `${int(ssh.wireBytes)} / ${int(ssh.fileBytes)}`, '', `${fixed(ssh.wireBytes / ssh.fileBytes, 3)}×`, `≤ ${fixed(1 + GOAL.sshOverhead)}×`],
    );
    met = met && ssh.p99 <= GOAL.sshP99 && overhead <= GOAL.sshOverhead;
    sshVerdict = `ssh p99 ${fixed(ssh.p99)} ms (goal ≤ ${GOAL.sshP99}), wire ${fixed(overhead * 100, 1)} % over the file's growth (goal ≤ +${GOAL.sshOverhead * 100} %)`;
  }
  return {
    key: 'follow',
    title: 'Follow: files (local and over ssh) into runs',
    about:
      `Latency: a command appends ${int(rate)} lines a second for ${seconds} s to a file, each stamped with its print time; ` +
      '`bin/runlog follow FILE --hub URL` ships it to a real hub (`bin/runlog server`), an `eventsource` client notes when each ' +
      'line arrives. Baseline: `tail -c +1 -F FILE` read from a pipe. Throughput: a ' +
      `${int(bigLines)}-line file (${int(t.bytes / 1e6)} MB) read by a FileFollower into records, and end to end until the hub has ` +
      'the last line; baselines `wc -l` and node counting newlines. Over ssh: a real sshd on 127.0.0.1 behind a byte-counting ' +
      'TCP proxy, the same ticker file followed as ssh://root@127.0.0.1:PORT/FILE (ssh compression on, runlog\'s default).',
    table: markdownTable(['figure', 'runlog follow', 'baseline', 'ratio', 'goal'], rows),
    verdict:
      `${met ? '**Goal met**' : '**Goal not met**'}: local p99 ${fixed(local.p99)} ms (goal ≤ ${GOAL.localP99}), follower ` +
      `${int(perSecond(t.followerSeconds))} lines/s (goal ≥ ${int(GOAL.throughput)}); ${sshVerdict}.`,
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
