/**
 * SDK: ns per call of `LogBuffer.add` and of a logger call, beside pino writing its lines to the
 * same sink in the same run (issue 3: "no slower than pino").
 *
 *   LogBuffer.add      a ready record into a buffer of 100 that is emptied when full
 *   logger.info        a 60-character message in the production format to the sink, its record
 *                      into a LogBuffer emptied when full (a worker's logging, minus the network)
 *   pino .info         pino({ base: null }) writing its JSON line for the same call to the same sink
 *   debug format       logger.info with `file:line` (a stack capture per call; no pino twin)
 *   disabled level     logger.debug / pino .debug at level INFO: a call that writes nothing
 *
 * Two sinks, each shared by both loggers: a Writable whose write() does nothing (what the loggers
 * themselves cost), and /dev/null through sonic-boom with synchronous writes (pino's own
 * destination: one write(2) per line, as a console on a file costs). Every row is warmed up first;
 * each repetition runs every row once, interleaved, so a busy machine slows both loggers alike.
 *
 *   node bench/sdk.js        (after npm run build)
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { LogBuffer, createLogger } from '../dist/sdk/index.js';
import { fixed, int, isMain, markdownTable, printResult, summary } from './lib.js';

const CALLS = 1_000_000;
const RUNS = 5;
const WARMUP = 500_000; // calls before timing, so both loggers are optimised when measured
const DEBUG_SHARE = 0.05; // the debug-format row captures a stack per call: 5% of the calls, same ns/call
const MESSAGE = 'worker w-01 claimed task 4f2a9c: setup done, run step queued'; // 60 characters

/** A sink that takes every line and does nothing with it. */
function noopWritable() {
  return new Writable({ decodeStrings: false, write: (_chunk, _encoding, callback) => callback() });
}

/** /dev/null through sonic-boom, one synchronous write(2) per line. */
function devNull() {
  return pino.destination({ dest: '/dev/null', sync: true });
}

/** A LogBuffer of 100 whose batches are dropped: the shipper's side is not measured here. */
function emptiedBuffer() {
  return new LogBuffer({ maxSize: 100, onFull: () => {} });
}

function runlogLogger(destination, debug = false) {
  return createLogger('runlog.bench', { console: destination, sink: emptiedBuffer().add, debug, level: 'INFO' });
}

function pinoLogger(destination) {
  return pino({ base: null, level: 'info' }, destination);
}

/** `n` calls of `call` in a loop: the closure is made once, outside the timing. */
function loop(call) {
  return (n) => {
    for (let i = 0; i < n; i++) call();
  };
}

/** The rows, in table order; `pair` marks a runlog row whose next row is its pino baseline. */
function scenarios() {
  const noop = noopWritable();
  const null_ = devNull();
  const buffer = emptiedBuffer();
  const record = { stream: 'worker:w1', seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: MESSAGE, source: 'sdk', logger: 'runlog.bench' };
  const rows = [{ name: 'LogBuffer.add (100, emptied when full)', run: loop(() => buffer.add(record)) }];
  for (const [sinkName, destination] of [['no-op Writable', noop], ['/dev/null (sonic-boom sync)', null_]]) {
    const runlog = runlogLogger(destination);
    const baseline = pinoLogger(destination);
    rows.push(
      { name: `runlog logger.info → ${sinkName} + LogBuffer`, run: loop(() => runlog.info(MESSAGE)), pair: true },
      { name: `pino .info → ${sinkName}`, run: loop(() => baseline.info(MESSAGE)) },
    );
  }
  const debugFormat = runlogLogger(noopWritable(), true);
  const quietRunlog = runlogLogger(noopWritable());
  const quietPino = pinoLogger(noopWritable());
  rows.push(
    { name: 'runlog logger.info, debug format (file:line) → no-op Writable', run: loop(() => debugFormat.info(MESSAGE)), share: DEBUG_SHARE },
    { name: 'runlog logger.debug at level INFO (disabled)', run: loop(() => quietRunlog.debug(MESSAGE)), pair: true, disabled: true },
    { name: 'pino .debug at level info (disabled)', run: loop(() => quietPino.debug(MESSAGE)) },
  );
  return { rows, close: () => null_.end() };
}

/** Both loggers write what the rows say they write: a wrong line would make the figures meaningless. */
function check() {
  const lines = [];
  const counting = new Writable({ decodeStrings: false, write: (chunk, _encoding, callback) => (lines.push(String(chunk)), callback()) });
  const buffer = new LogBuffer({ maxSize: 100 });
  createLogger('runlog.bench', { console: counting, sink: buffer.add, debug: false }).info(MESSAGE);
  pinoLogger(counting).info(MESSAGE);
  const production = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \| INFO {5}\| (.*)\n$/;
  if (production.exec(lines[0] ?? '')?.[1] !== MESSAGE) throw new Error(`sdk bench: unexpected runlog line ${lines[0]}`);
  if (JSON.parse(lines[1] ?? '{}').msg !== MESSAGE) throw new Error(`sdk bench: unexpected pino line ${lines[1]}`);
  if (buffer.stats().current_buffer_size !== 1) throw new Error('sdk bench: the record did not reach the LogBuffer');
}

function nsPerCall(run, n) {
  const start = process.hrtime.bigint();
  run(n);
  return Number(process.hrtime.bigint() - start) / n;
}

export async function run({ runs = RUNS, calls = CALLS } = {}) {
  check();
  const { rows, close } = scenarios();
  try {
    const count = (row, n) => Math.round(n * (row.share ?? 1));
    for (const row of rows) row.run(count(row, WARMUP));
    const samples = rows.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (const [i, row] of rows.entries()) {
        samples[i].push(nsPerCall(row.run, count(row, calls)));
        await new Promise((resolve) => setImmediate(resolve)); // let stream callbacks run between rows
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
  const writing = results.filter((result, i) => result.ratio !== undefined && !rows[i].disabled);
  const worst = Math.max(...writing.map((result) => result.ratio));
  const met = worst <= 1;
  return {
    key: 'sdk',
    title: 'SDK: ns per logging call, beside pino',
    about:
      `${int(calls)} calls per row (the debug-format row ${int(calls * DEBUG_SHARE)}), median of ${runs} runs, rows interleaved. ` +
      'The logger writes the production format (`timestamp | level | message`) to the sink and its record to a LogBuffer ' +
      `emptied when full; pino writes its JSON line to the same sink. The message is a plain string of ${MESSAGE.length} characters. ` +
      'Goal: no slower than pino.',
    rows: results,
    table: markdownTable(
      ['call', 'ns/call (median)', 'min – max', 'pino ns/call', 'ratio to pino'],
      results.map((result) => [
        result.name,
        fixed(result.value, 1),
        `${fixed(result.min, 1)} – ${fixed(result.max, 1)}`,
        result.baseline === undefined ? '' : fixed(result.baseline, 1),
        result.ratio === undefined ? '' : `${fixed(result.ratio)}×`,
      ]),
    ),
    verdict: met
      ? `**Goal met**: a logger call costs at most ${fixed(worst)}× pino's on both sinks.`
      : `**Goal not met**: a logger call costs ${fixed(worst)}× pino's on its worst sink.`,
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
