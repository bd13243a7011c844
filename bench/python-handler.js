/**
 * Python handler: µs per logging call on the caller's thread, runlog.Handler beside a plain
 * logging.StreamHandler writing to /dev/null, in the same Python process, runs interleaved
 * (issue 11: ≤ 5 µs per call, Debian's python3).
 *
 *   runlog.Handler       the record appended to the shipper's deque; formatting, numbering and
 *                        the POSTs happen on the shipper thread (a real hub in a child process)
 *   StreamHandler        "%(asctime)s %(levelname)s %(name)s: %(message)s" to /dev/null
 *
 *   a handler that does nothing: what logging itself costs (the LogRecord, findCaller, the call)
 *
 * Every row includes what logging itself costs. Two figures:
 * the caller's thread CPU time per call (time.thread_time: what the program's thread pays) and
 * wall time per call (which also holds the GIL the shipper thread takes meanwhile).
 *
 *   node bench/python-handler.js        (after npm run build; needs /usr/bin/python3)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startHubProcess } from './hub-process.js';
import { fixed, int, isMain, markdownTable, printResult, removeDir, settle, summary, tempDir } from './lib.js';

const PYTHON = '/usr/bin/python3';
const CALLS = 100_000;
const RUNS = 7;
const GOAL_US = 5;
const SCRIPT = fileURLToPath(new URL('./children/python_handler.py', import.meta.url));

export async function run({ calls = CALLS, runs = RUNS } = {}) {
  if (!existsSync(PYTHON)) {
    return { key: 'python-handler', title: 'Python handler', about: `${PYTHON} not found: skipped.`, rows: [], table: '', verdict: 'Skipped.', met: true };
  }
  const hub = await startHubProcess('python-handler');
  const spool = tempDir('python-handler-spool');
  try {
    // a per-call cost of a few µs: measured once what the previous scenario left running (the
    // PostgreSQL scenario's checkpoint and vacuum) has stopped, not beside it
    const quiet = await settle();
    const child = spawnSync(PYTHON, [SCRIPT, hub.url, String(calls), String(runs)], { encoding: 'utf8', env: { ...process.env, RUNLOG_SPOOL: spool }, timeout: 600_000 });
    if (child.status !== 0) throw new Error(`python-handler bench: python exited ${child.status}: ${child.stderr}`);
    const { rows, python, stats } = JSON.parse(child.stdout.trim().split('\n').at(-1));
    return report(rows, python, stats, calls, runs, quiet);
  } finally {
    await hub.stop();
    removeDir(spool);
  }
}

function report(rows, python, stats, calls, runs, quiet) {
  const figure = (name) => ({
    cpu: summary(rows[name].map(([, cpu]) => cpu)),
    wall: summary(rows[name].map(([wall]) => wall)),
  });
  const runlog = figure('runlog');
  const stream = figure('stream');
  const nothing = figure('nothing');
  const met = runlog.cpu.median <= GOAL_US;
  const results = [
    { name: 'runlog.Handler', value: runlog.cpu.median, unit: 'µs/call', wall: runlog.wall.median, baseline: stream.cpu.median, ratio: runlog.cpu.median / stream.cpu.median },
    { name: 'logging.StreamHandler → /dev/null', value: stream.cpu.median, unit: 'µs/call', wall: stream.wall.median },
    { name: 'a handler that does nothing', value: nothing.cpu.median, unit: 'µs/call', wall: nothing.wall.median },
  ];
  return {
    key: 'python-handler',
    title: 'Python handler: µs per logging call, beside a StreamHandler',
    about:
      `Python ${python}, ${int(calls)} calls of \`logger.info("step %d/%d loss=%.5f lr=%s", …)\` per run, median of ${runs} runs, ` +
      'interleaved. CPU: the calling thread\'s CPU time per call; wall: elapsed per call (the shipper thread shares the GIL). ' +
      `The handler sent ${int(stats.sent)} records to a hub in a child process, dropped ${int(stats.dropped)}. ` +
      `Started once the CPUs were ${fixed(quiet.busy * 100, 0)} % busy over a second (waited ${fixed(quiet.waitedMs / 1000, 0)} s for it). ` +
      `Goal: ≤ ${GOAL_US} µs per call on the caller's thread.`,
    rows: results,
    table: markdownTable(
      ['handler', 'CPU µs/call (median)', 'min – max', 'wall µs/call'],
      [
        ['runlog.Handler', fixed(runlog.cpu.median), `${fixed(runlog.cpu.min)} – ${fixed(runlog.cpu.max)}`, fixed(runlog.wall.median)],
        ['logging.StreamHandler → /dev/null', fixed(stream.cpu.median), `${fixed(stream.cpu.min)} – ${fixed(stream.cpu.max)}`, fixed(stream.wall.median)],
        ['a handler that does nothing (logging itself)', fixed(nothing.cpu.median), `${fixed(nothing.cpu.min)} – ${fixed(nothing.cpu.max)}`, fixed(nothing.wall.median)],
      ],
    ),
    verdict: met
      ? `**Goal met**: ${fixed(runlog.cpu.median)} µs per call on the caller's thread (${fixed(runlog.cpu.median / stream.cpu.median)}× the StreamHandler's ${fixed(stream.cpu.median)} µs; logging itself ${fixed(nothing.cpu.median)} µs).`
      : `**Goal not met**: ${fixed(runlog.cpu.median)} µs per call on the caller's thread (goal ≤ ${GOAL_US} µs), of which logging itself ${fixed(nothing.cpu.median)} µs; the StreamHandler ${fixed(stream.cpu.median)} µs.`,
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
