/**
 * Capture: 1,000,000 lines of 100 bytes from a child process into records, the run's log file
 * and the store, in lines per second.
 *
 * The child (children/generate.py) writes pre-built 100 KB blocks, so it is not the bottleneck:
 * the baseline row reads the same child's stdout and only counts newlines. The rows after it add
 * one stage at a time so a reader sees where the time goes:
 *   records         CapturedProcess → RecordBuilder (split, decode, level, traceback, seq), no sink
 *   + log file      … → LogFileSink
 *   + store         … → LogFileSink + StoreSink(SqliteStore on a temp file)
 *   Runner          new Runner({ sink: StoreSink, echo: false }).run(): the whole thing, as
 *                   `runlog run` without a hub does it (adds the ring of recent lines)
 *   for scale       the same records, made beforehand, through StoreSink alone: the store's pace
 *   shipper         records + log file + each record's JSON, as HubShipper makes it for the hub
 *   shipper + WAL   … + the run's write-ahead log as HubShipper writes it (a write per 256 KiB or
 *                   20 ms, fdatasync ≤ 100 ms): the difference between the two is what the WAL's
 *                   work costs a line
 *   through a hub   `bin/runlog run --hub URL -- <child>` against a hub in its own process, spawn
 *                   to exit: with `RUNLOG_WAL=off` (lines wait in memory only), then with the WAL
 *                   as `runlog run` always has it. The WAL exists only on this road (without a
 *                   hub, `runlog run` writes its store), so its cost is given as a share of this
 *                   road's time per line (issue 9: ≤ 15 % of end-to-end throughput), both as the
 *                   WAL's own work (the shipper rows) and as the throughput measured with and without it
 * Each repetition runs every row once, in that order; the tables give the median of the runs.
 *
 *   node bench/capture.js        (after npm run build)
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runner } from '../dist/agent/runner.js';
import { RecordBuilder } from '../dist/pipeline/records.js';
import { LogFileSink } from '../dist/sinks/log-file.js';
import { Wal } from '../dist/pipeline/spool/wal.js';
import { self } from '../dist/pipeline/spool/owner.js';
import { StoreSink } from '../dist/sinks/store.js';
import { CapturedProcess } from '../dist/sources/process/process.js';
import { SqliteStore } from '../dist/store/sqlite/store.js';
import { startHubProcess } from './hub-process.js';
import { LINE_BYTES, fixed, int, isMain, makeBlock, markdownTable, printResult, ratio, removeDir, summary, tempDir } from './lib.js';

const LINES = 1_000_000;
const RUNS = 5;
const GOAL_LINES_PER_S = 1_000_000;
const WAL_GOAL = 0.15; // the write-ahead may cost at most 15 % of end-to-end throughput (issue 9)
const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('./children/generate.py', import.meta.url));
const SAMPLE_BLOCKS = 16; // 16,000 distinct lines, repeated
const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));

const STAGES = [
  { name: 'baseline: child → read, count `\\n`', run: baseline },
  { name: 'records (split, decode, level, seq), no sink', run: (cmd, n) => pipeline(cmd, n, { logFile: false, store: false }), step: true },
  { name: '+ log file', run: (cmd, n) => pipeline(cmd, n, { logFile: true, store: false }), step: true },
  { name: '+ store (SQLite)', run: (cmd, n) => pipeline(cmd, n, { logFile: true, store: true }), step: true },
  { name: 'Runner end to end (+ ring of recent lines)', run: runner, step: true },
  { name: 'for scale: StoreSink → SqliteStore alone, no child', run: storeAlone },
  { name: 'shipper: records + log file + JSON per record, no WAL', run: (cmd, n) => pipeline(cmd, n, { logFile: true, store: false, json: true }) },
  { name: 'shipper + WAL: … + the write-ahead log', run: (cmd, n) => pipeline(cmd, n, { logFile: true, store: false, json: true, wal: true }), step: true },
  { name: '`runlog run --hub` → a hub process, WAL off', run: (cmd, n, hub) => throughHub(cmd, n, hub, false) },
  { name: '`runlog run --hub` → a hub process, with the WAL', run: (cmd, n, hub) => throughHub(cmd, n, hub, true), step: true },
];

export async function run({ runs = RUNS, lines = LINES } = {}) {
  const dir = tempDir('capture');
  try {
    const sample = join(dir, 'sample.txt');
    writeFileSync(sample, Buffer.concat(Array.from({ length: SAMPLE_BLOCKS }, (_, b) => makeBlock(b * 1000, 1000))));
    const command = [PYTHON, GENERATOR, sample, String(lines), String(LINE_BYTES)];
    const rates = STAGES.map(() => []);
    const hub = await startHubProcess('capture');
    try {
      for (let r = 0; r < runs; r++) {
        for (const [s, stage] of STAGES.entries()) {
          const seconds = await stage.run(command, lines, hub);
          rates[s].push(lines / seconds);
        }
      }
    } finally {
      await hub.stop();
    }
    return report(rates, runs, lines);
  } finally {
    removeDir(dir);
  }
}

let hubRuns = 0;

/** `runlog run --hub` as a user runs it, the hub in its own process; the WAL on or off (RUNLOG_WAL=off). */
async function throughHub(command, lines, hub, wal) {
  const dir = tempDir('capture-hub');
  const id = `bench-capture-hub-${process.pid}-${++hubRuns}`;
  try {
    const start = performance.now();
    const child = spawn(process.execPath, [CLI, 'run', '--quiet', '--hub', hub.url, '--data', dir, '--id', id, '--', ...command], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, RUNLOG_WAL: wal ? 'on' : 'off' },
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    const seconds = (performance.now() - start) / 1000;
    expect(code, 0, 'runlog run exit code');
    const run = await (await fetch(`${hub.url}/api/runs/${id}`)).json();
    expect(run.line_count, lines, 'lines on the hub');
    expect(run.status, 'completed', 'run status on the hub');
    return seconds;
  } finally {
    removeDir(dir);
  }
}

/** The same child, read and split on `\n` only: what a pipe gives before runlog does anything. */
async function baseline(command, lines) {
  const start = performance.now();
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let count = 0;
  child.stdout.on('data', (chunk) => {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count++;
  });
  await new Promise((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - start) / 1000;
  expect(count, lines, 'baseline lines');
  return seconds;
}

/** CapturedProcess → RecordBuilder → the chosen sinks, wired the way Runner wires them. */
async function pipeline(command, lines, { logFile, store, json = false, wal = false }) {
  const dir = tempDir('capture-run');
  const id = 'bench-capture';
  // the store is opened before timing, as in the Runner row (a runner opens it before the run)
  const db = store ? new SqliteStore(join(dir, 'runlog.db')) : undefined;
  try {
    const start = performance.now();
    const file = logFile ? new LogFileSink(join(dir, 'logs'), id) : undefined;
    const storeSink = db ? new StoreSink(db) : undefined;
    storeSink?.start({ id, command: command.join(' '), status: 'running', started_at: Date.now() * 1000 });
    const log = wal ? new Wal(join(dir, 'wal'), { version: 1, run: { id }, writer_key: 'bench', hub: 'http://127.0.0.1:1', acked_seq: 0, owner: self('run') }) : undefined;
    // what HubShipper.record does for the WAL: the record's JSON once, appended with its seq
    let serialized = 0;
    const walSink = json
      ? {
          record(record) {
            const text = JSON.stringify(record);
            serialized += text.length;
            log?.add(record.seq, text);
          },
          progress() {},
        }
      : undefined;
    const sinks = [walSink, file, storeSink].filter((sink) => sink !== undefined);
    const builder = new RecordBuilder({
      stream: id,
      sink: {
        record(record) {
          for (const sink of sinks) sink.record(record);
        },
        progress() {},
      },
    });
    const stdout = builder.source('stdout');
    const stderr = builder.source('stderr');
    const child = new CapturedProcess(command, { env: process.env }, { stdout: stdout.push, stderr: stderr.push });
    await child.exited;
    stdout.end();
    stderr.end();
    file?.close();
    log?.close();
    await storeSink?.finish({ status: 'completed', exit_code: 0 });
    const seconds = (performance.now() - start) / 1000;

    expect(builder.lastSeq, lines, 'records');
    if (file) expect(countNewlines(file.path), lines, 'log file lines');
    if (log) expect(countNewlines(log.file), lines, 'WAL lines');
    if (json && serialized === 0) throw new Error('capture bench: nothing serialized');
    if (db) expect((await db.getRun(id)).line_count, lines, 'stored lines');
    return seconds;
  } finally {
    await db?.close();
    removeDir(dir);
  }
}

/** What `runlog run` does with no hub: Runner with a StoreSink, output not echoed. */
async function runner(command, lines) {
  const dir = tempDir('capture-runner');
  const store = new SqliteStore(join(dir, 'runlog.db'));
  try {
    const start = performance.now();
    const outcome = await new Runner({
      id: 'bench-runner',
      command,
      logDir: join(dir, 'logs'),
      echo: false,
      sink: new StoreSink(store),
    }).run();
    const seconds = (performance.now() - start) / 1000;
    expect(outcome.exit_status, 0, 'exit status');
    expect(outcome.line_count, lines, 'Runner lines');
    expect(outcome.stored?.line_count, lines, 'Runner stored lines');
    return seconds;
  } finally {
    await store.close();
    removeDir(dir);
  }
}

/** The store's own pace: records made beforehand (not timed) go through StoreSink into SQLite. */
async function storeAlone(command, lines) {
  const dir = tempDir('capture-store');
  const id = 'bench-store';
  const records = [];
  const builder = new RecordBuilder({ stream: id, sink: { record: (r) => records.push(r), progress() {} } });
  const stdout = builder.source('stdout');
  const blocks = Array.from({ length: SAMPLE_BLOCKS }, (_, b) => makeBlock(b * 1000, 1000));
  for (let b = 0; records.length < lines; b++) stdout.push(blocks[b % SAMPLE_BLOCKS]);
  records.length = lines;
  const store = new SqliteStore(join(dir, 'runlog.db'));
  try {
    const start = performance.now();
    const sink = new StoreSink(store);
    sink.start({ id, command: command.join(' '), status: 'running', started_at: Date.now() * 1000 });
    for (const record of records) sink.record(record);
    const stored = await sink.finish({ status: 'completed', exit_code: 0 });
    const seconds = (performance.now() - start) / 1000;
    expect(stored?.line_count, lines, 'stored lines');
    return seconds;
  } finally {
    await store.close();
    removeDir(dir);
  }
}

function report(rates, runs, lines) {
  const stats = rates.map(summary);
  const base = stats[0].median;
  const micros = stats.map((stat) => 1e6 / stat.median);
  const rows = STAGES.map((stage, s) => [
    stage.name,
    int(stats[s].median),
    `${int(stats[s].min)} – ${int(stats[s].max)}`,
    fixed(micros[s]),
    stage.step ? signed(micros[s] - micros[s - 1]) : '',
    fixed((stats[s].median * LINE_BYTES) / 1e6, 0),
    int(base),
    ratio(stats[s].median, base),
  ]);
  const endToEnd = stats[STAGES.findIndex((stage) => stage.run === runner)].median;
  let costliest = STAGES.findIndex((stage) => stage.step);
  for (const [s, stage] of STAGES.entries()) {
    if (stage.step && micros[s] - micros[s - 1] > micros[costliest] - micros[costliest - 1]) costliest = s;
  }
  const walRow = STAGES.findIndex((stage) => stage.name.startsWith('shipper + WAL'));
  const walMicros = micros[walRow] - micros[walRow - 1];
  const hubOff = stats[STAGES.findIndex((stage) => stage.name.endsWith('WAL off'))].median;
  const hubOn = stats[STAGES.findIndex((stage) => stage.name.endsWith('with the WAL'))].median;
  // the WAL's own work as a share of a line's time on the road that has a WAL (through a hub) …
  const walShare = walMicros / (1e6 / hubOn);
  // … and the throughput that road loses with the WAL on (negative: faster with it)
  const walThroughputCost = 1 - hubOn / hubOff;
  const met = endToEnd >= GOAL_LINES_PER_S && walShare <= WAL_GOAL && walThroughputCost <= WAL_GOAL;
  const walMet = walShare <= WAL_GOAL && walThroughputCost <= WAL_GOAL;
  return {
    key: 'capture',
    title: 'Capture: lines per second into records, log file and store',
    about:
      `A child process prints ${int(lines)} lines of ${LINE_BYTES} bytes as fast as the pipe takes them; ` +
      `each row times the whole run (spawn to the last record committed), median of ${runs} runs. ` +
      'The baseline reads the same child and only counts newlines; each following row adds one stage ' +
      '("stage µs/line" is what that stage adds to each line), up to `Runner` as `runlog run` uses it without a hub. ' +
      'The last row, for scale, times only the store: the same records, made beforehand, through StoreSink into SQLite. ' +
      `Goal: ≥ ${int(GOAL_LINES_PER_S)} lines/s end to end (the Runner row).`,
    table: markdownTable(
      ['pipeline', 'lines/s (median)', 'min – max', 'µs/line', 'stage µs/line', 'MB/s', 'baseline lines/s', 'ratio to baseline'],
      rows,
    ),
    verdict:
      (met
        ? `**Goal met**: ${int(endToEnd)} lines/s end to end (goal ≥ ${int(GOAL_LINES_PER_S)}).`
        : `**Goal not met**: ${int(endToEnd)} lines/s end to end, ${fixed(endToEnd / GOAL_LINES_PER_S)}× the goal of ${int(GOAL_LINES_PER_S)} lines/s.`) +
      ` The costliest stage is "${STAGES[costliest].name}": ${fixed(micros[costliest] - micros[costliest - 1])} of the ` +
      `${fixed(1e6 / endToEnd)} µs each line takes end to end. ` +
      `**The write-ahead log** (goal ≤ ${WAL_GOAL * 100} % of end-to-end throughput: ${walMet ? 'met' : 'not met'}): its work ("shipper + WAL" against "shipper") ` +
      `costs ${fixed(walMicros)} µs/line, ${fixed(walShare * 100, 1)} % of the ${fixed(1e6 / hubOn)} µs a line takes through a hub with it ` +
      `(${fixed((walMicros / (1e6 / endToEnd)) * 100, 1)} % of the Runner row's, a road without a WAL); ` +
      `\`runlog run --hub\` makes ${int(hubOn)} lines/s with it and ${int(hubOff)} without, ${walThroughputCost >= 0 ? `${fixed(walThroughputCost * 100, 1)} % less` : `${fixed(-walThroughputCost * 100, 1)} % more`} with the WAL` +
      `${walThroughputCost < 0 ? ' (without it, the lines the hub has not taken pile up in memory)' : ''}.`,
    met,
  };
}

/** +0.23 / −0.05: a negative step is noise (that stage costs less than the spread) */
function signed(n) {
  return n < 0 ? `−${fixed(-n)}` : `+${fixed(n)}`;
}

function countNewlines(path) {
  const data = readFileSync(path);
  let count = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) count++;
  return count;
}

function expect(actual, wanted, what) {
  if (actual !== wanted) throw new Error(`capture bench: ${what}: expected ${wanted}, got ${actual}`);
}

if (isMain(import.meta.url)) printResult(await run());
