/**
 * SDK: ns per call of `LogBuffer.add` and of a logger call, beside pino writing its lines to the
 * same sink in the same run (issue 3: "no slower than pino").
 *
 *   buffer add        LogBuffer.add of a ready record; the buffer (100) is emptied when full
 *   logger → sink     logger.info('<60 chars>') in the production format to the sink, the record
 *                     into a LogBuffer emptied when full (what a worker does, minus the network)
 *   pino → sink       pino({ base: null }).info('<60 chars>') to the same sink (its JSON line)
 *   disabled level    logger.debug / pino.debug at level INFO: the cost of a call that writes nothing
 *
 * Two sinks, each used by both loggers: a Writable whose write() does nothing (the cost of the
 * loggers themselves), and /dev/null through sonic-boom with sync writes (pino's own destination:
 * adds one write(2) per line, as a console on a file does). Each repetition runs every row once,
 * interleaved; the table gives the median of the runs.
 *
 *   node bench/sdk.js        (after npm run build)
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { LogBuffer, createLogger } from '../dist/sdk/index.js';
import { fixed, int, isMain, markdownTable, printResult, summary } from './lib.js';

const CALLS = 1_000_000;
const RUNS = 5;
const WARMUP = 200_000; // calls before timing, so both loggers are optimised when measured
const MESSAGE = 'worker w1 claimed task 4f2a9c: 3 setup steps, 1 run step queued'; // 60 characters

/** A sink that takes every line and does nothing with it. */
function discardingWritable() {
  return new Writable({ decodeStrings: false, write: (_chunk, _encoding, callback) => callback() });
}

/** /dev/null through sonic-boom, one synchronous write(2) per line. */
function devNull() {
  return pino.destination({ dest: '/dev/null', sync: true });
}

function runlogLogger(destination) {
  const buffer = new LogBuffer({ maxSize: 100, onFull: () => {} }); // emptied when full, batch discarded
  return createLogger('runlog.bench', { console: destination, sink: buffer.add, debug: false, level: 'INFO' });
}

function pinoLogger(destination) {
  return pino({ base: null, level: 'info' }, destination);
}

/** The rows: [name, unit group, make a function doing `n` calls]. Setup happens outside the timing. */
function scenarios() {
  const sinks = [
    ['no-op Writable', discardingWritable()],
    ['/dev/null (sonic-boom sync)', devNull()],
  ];
  const rows = [
    {
      name: 'LogBuffer.add (100, emptied when full)',
      make: () => {
        const buffer = new LogBuffer({ maxSize: 100, onFull: () => {} });
        const record = { stream: 'worker:w1', seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: MESSAGE, source: 'sdk', logger: 'runlog.bench' };
        return (n) => {
          for (let i = 0; i < n; i++) buffer.add(record);
        };
      },
    },
  ];
  for (const [sinkName, destination] of sinks) {
    const runlog = runlogLogger(destination);
    const baseline = pinoLogger(destination);
    rows.push(
      { name: `runlog logger.info → ${sinkName} + LogBuffer`, make: () => (n) => { for (let i = 0; i < n; i++) runlog.info(MESSAGE); }, pair: 'pino' },
      { name: `pino .info → ${sinkName}`, make: () => (n) => { for (let i = 0; i < n; i++) baseline.info(MESSAGE); }, isBaseline: true },
    );
  }
  const quietRunlog = runlogLogger(discardingWritable());
  const quietPino = pinoLogger(discardingWritable());
  rows.push(
    { name: 'runlog logger.debug, level INFO (disabled)', make: () => (n) => { for (let i = 0; i < n; i++) quietRunlog.debug(MESSAGE); }, pair: 'pino' },
    { name: 'pino .debug, level info (disabled)', make: () => (n) => { for (let i = 0; i < n; i++) quietPino.debug(MESSAGE); }, isBaseline: true },
  );
  return { rows, close: () => sinks.forEach(([, destination]) => destination.end?.()) };
}

function timeNs(calls, n) {
  const start = process.hrtime.bigint();
  calls(n);
  return Number(process.hrtime.bigint() - start) / n;
}

export async function run({ runs = RUNS, calls = CALLS } = {}) {
  const { rows, close } = scenarios();
  try {
    const loops = rows.map((row) => row.make());
    loops.forEach((loop) => loop(WARMUP));
    const samples = rows.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (const [i, loop] of loops.entries()) {
        samples[i].push(timeNs(loop, calls));
        await new Promise((resolve) => setImmediate(resolve)); // let stream callbacks and GC settle between rows
      }
    }
    return report(rows, samples.map(summary), runs, calls);
  } finally {
    close();
  }
}

function report(rows, stats, runs, calls) {
  const results = rows.map((row, i) => {
    const result = { name: row.name, value: stats[i].median, unit: 'ns/call', min: stats[i].min, max: stats[i].max };
    if (row.pair) {
      result.baseline = stats[i + 1].median;
      result.ratio = result.value / result.baseline;
    }
    return result;
  });
  const compared = results.filter((row) => row.ratio !== undefined && !row.name.includes('disabled'));
  const worst = Math.max(...compared.map((row) => row.ratio));
  const met = worst <= 1;
  return {
    key: 'sdk',
    title: 'SDK: ns per logging call, beside pino',
    about:
      `${int(calls)} calls per row, median of ${runs} runs (rows interleaved). The logger writes the production format ` +
      '(`timestamp | level | message`) to the sink and its record to a LogBuffer emptied when full; pino writes its JSON line ' +
      'to the same sink. The message is a plain string of 60 characters. Goal: no slower than pino.',
    rows: results,
    table: markdownTable(
      ['call', 'ns/call (median)', 'min – max', 'pino ns/call', 'ratio to pino'],
      results.map((row) => [
        row.name,
        fixed(row.value, 1),
        `${fixed(row.min, 1)} – ${fixed(row.max, 1)}`,
        row.baseline === undefined ? '' : fixed(row.baseline, 1),
        row.ratio === undefined ? '' : `${fixed(row.ratio)}×`,
      ]),
    ),
    verdict: met
      ? `**Goal met**: the logger call is at most ${fixed(worst)}× pino's on both sinks.`
      : `**Goal not met**: the logger call is ${fixed(worst)}× pino's on its worst sink.`,
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
