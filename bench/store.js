/**
 * The line store: ingest through a hub, bytes on disk, and reads at scale (issue 10).
 *
 *   hub ingest    `runlog run --hub URL -- cat FILE` of the capture benchmark's 1M lines (100 bytes
 *                 each): spawn to exit, lines/s; then the hub's SQLite file size per line.
 *   store         the same 1M lines as records, 1,000 a batch (what the hub gets from a runner),
 *                 appended to the chunk store, and to the baseline, in the same run: the release
 *                 before chunks' table (one row per line, `log_lines`, its schema and SQL copied
 *                 here), so the ratios compare the two on this machine, now.
 *   reads         tail 500, level=ERROR (tail 500), a rare string: median of 7, on 1M lines (both
 *                 stores), on one 10M-line run, and across 1,000 runs holding 10M lines (chunk
 *                 store, built through the store API). Errors come as tracebacks: 25 ERROR lines
 *                 every 20,000 lines; a second 10M-line run has isolated errors instead (one every
 *                 10,000 lines), the level filter's worst case.
 *
 *   node bench/store.js        (after npm run build)
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../dist/store/sqlite/store.js';
import { startHubProcess } from './hub-process.js';
import { fixed, int, isMain, makeBlock, makeLine, markdownTable, printResult, ratio, removeDir, tempDir } from './lib.js';

const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));
const LINES = 1_000_000;
const BIG = 10_000_000;
const RUNS = 1_000;
const BATCH = 1_000;
const T0 = 1_750_000_000_000_000;
const GOALS = { ingest: 500_000, bytes: 40, tail: 10, level: 100, rare: 1000 };
const RARE = 'zebra-needle-4711';

export async function run({ lines = LINES, big = BIG } = {}) {
  const dir = tempDir('store');
  try {
    const hub = await hubIngest(dir, lines);
    const chunk = await chunkStore(join(dir, 'chunks.db'), lines);
    const rows = rowStore(join(dir, 'rows.db'), lines);
    const scale = await atScale(dir, big);
    return report({ lines, big, hub, chunk, rows, scale });
  } finally {
    removeDir(dir);
  }
}

/** `runlog run -- cat` of `lines` lines through a hub in its own process. */
async function hubIngest(dir, lines) {
  const file = join(dir, 'lines.txt');
  const blocks = [];
  for (let first = 0; first < lines; first += 10_000) blocks.push(makeBlock(first, Math.min(10_000, lines - first)));
  writeFileSync(file, Buffer.concat(blocks));
  const data = join(dir, 'hub');
  const hub = await startHubProcess('store', data);
  try {
    const start = performance.now();
    const child = spawn(process.execPath, [CLI, 'run', '--quiet', '--hub', hub.url, '--id', 'cat-1m', '--data', join(dir, 'runner'), '--', 'cat', file], { stdio: 'inherit' });
    const code = await new Promise((resolve) => child.on('close', resolve));
    const seconds = (performance.now() - start) / 1000;
    if (code !== 0) throw new Error(`store bench: runlog run exited ${code}`);
    const run = await (await fetch(`${hub.url}/api/runs/cat-1m`)).json();
    if (run.line_count !== lines) throw new Error(`store bench: the hub has ${run.line_count} lines, expected ${lines}`);
    const hubCpu = hub.cpuSeconds();
    await hub.stop();
    return { rate: lines / seconds, hubCpu, bytesPerLine: dirBytes(data, /\.db(-wal)?$/) / lines };
  } finally {
    await hub.stop();
  }
}

function dirBytes(dir, pattern) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(path, pattern);
    else if (pattern.test(entry.name)) total += statSync(path).size;
  }
  return total;
}

/** Line i of a run: the capture benchmark's text, tracebacks or isolated errors as asked, the rare string once. */
function record(stream, i, { isolated = false, rareAt = -1 } = {}) {
  const error = isolated ? i % 10_000 === 5_000 : i % 20_000 >= 19_975;
  const message = i === rareAt ? `checkpoint ${RARE} saved` : error ? `ERROR Traceback frame ${i % 25}: ValueError at step ${i}` : makeLine(i);
  return { stream, seq: i + 1, timestamp: T0 + i * 10, level: error ? 'ERROR' : 'INFO', message, source: 'stdout', phase: 'run' };
}

/** Appends `count` lines in batches; returns the seconds spent in appendRecords alone (making the lines is not timed). */
async function fill(store, stream, count, options) {
  await store.upsertRun({ id: stream, labels: { team: 'bench' } });
  let seconds = 0;
  for (let first = 0; first < count; first += BATCH) {
    const batch = [];
    for (let i = first; i < Math.min(count, first + BATCH); i++) batch.push(record(stream, i, options));
    const start = performance.now();
    await store.appendRecords(stream, batch);
    seconds += (performance.now() - start) / 1000;
  }
  return seconds;
}

async function medianMs(fn, times = 7) {
  await fn(); // warm: the first call compiles
  const ms = [];
  for (let r = 0; r < times; r++) {
    const start = performance.now();
    await fn();
    ms.push(performance.now() - start);
  }
  return ms.sort((a, b) => a - b)[times >> 1];
}

async function chunkReads(store, stream) {
  return {
    tail: await medianMs(() => store.queryLogs(stream, { tail: 500 })),
    level: await medianMs(() => store.queryLogs(stream, { tail: 500, level: 'ERROR' })),
    rare: await medianMs(() => store.queryLogs(stream, { tail: 500, q: RARE })),
  };
}

async function chunkStore(file, lines) {
  const store = new SqliteStore(file);
  await fill(store, 'warm-up', 20_000, {});
  const rate = lines / (await fill(store, 'r', lines, { rareAt: lines >> 1 }));
  const reads = await chunkReads(store, 'r');
  await store.close();
  return { rate, bytesPerLine: fileBytes(file) / lines, ...reads };
}

function fileBytes(file) {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // no WAL left after a clean close
    }
  }
  return total;
}

/** The release before chunks: its table and statements, as they were (src/store/sqlite/schema.ts at 9ac43d7). */
function rowStore(file, lines) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE log_lines (stream TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, level INTEGER NOT NULL,
    message TEXT NOT NULL, plain TEXT, source TEXT, phase TEXT, logger TEXT, task_id TEXT, attrs TEXT, PRIMARY KEY (stream, seq)) WITHOUT ROWID`);
  const insert100 = db.prepare(`INSERT INTO log_lines (stream, seq, ts, level, message, plain, source, phase, logger, task_id, attrs) VALUES ${Array(100).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
  const existing = db.prepare('SELECT seq FROM log_lines WHERE stream = ? AND seq BETWEEN ? AND ?').pluck();
  const append = db.transaction((records) => {
    const stream = records[0].stream;
    existing.all(stream, records[0].seq, records[records.length - 1].seq);
    for (let s = 0; s < records.length; s += 100) {
      const values = [];
      for (const r of records.slice(s, s + 100)) values.push(stream, r.seq, r.timestamp, r.level === 'ERROR' ? 40 : 20, r.message, null, r.source, r.phase, null, null, null);
      insert100.run(...values);
    }
  });
  for (let first = 0; first < 20_000; first += BATCH) append.immediate(Array.from({ length: BATCH }, (_, i) => record('warm-up', first + i)));
  let seconds = 0;
  for (let first = 0; first < lines; first += BATCH) {
    const batch = [];
    for (let i = first; i < Math.min(lines, first + BATCH); i++) batch.push(record('r', i, { rareAt: lines >> 1 }));
    const start = performance.now();
    append.immediate(batch);
    seconds += (performance.now() - start) / 1000;
  }
  const rate = lines / seconds;
  const query = (where, ...params) => db.prepare(`SELECT * FROM log_lines WHERE stream = 'r' ${where} ORDER BY seq DESC LIMIT 501`).all(...params);
  const reads = {
    tail: 0,
    level: 0,
    rare: 0,
  };
  const timeSync = (fn) => {
    fn();
    const ms = [];
    for (let r = 0; r < 7; r++) {
      const t = performance.now();
      fn();
      ms.push(performance.now() - t);
    }
    return ms.sort((a, b) => a - b)[3];
  };
  reads.tail = timeSync(() => query(''));
  reads.level = timeSync(() => query('AND level >= ?', 40));
  reads.rare = timeSync(() => query("AND COALESCE(plain, message) LIKE ? ESCAPE '\\'", `%${RARE}%`));
  db.close();
  return { rate, bytesPerLine: fileBytes(file) / lines, ...reads };
}

/** One 10M-line run (tracebacks), one with isolated errors, and 1,000 runs of 10,000 lines. */
async function atScale(dir, big) {
  const store = new SqliteStore(join(dir, 'big.db'));
  const fillRate = big / (await fill(store, 'big', big, { rareAt: Math.floor(big * 0.37) }));
  const one = await chunkReads(store, 'big');
  await fill(store, 'isolated', big, { isolated: true });
  const isolatedLevel = await medianMs(() => store.queryLogs('isolated', { tail: 500, level: 'ERROR' }));
  await store.close();
  const many = new SqliteStore(join(dir, 'many.db'));
  const perRun = Math.floor(big / RUNS);
  let seconds = 0;
  for (let r = 0; r < RUNS; r++) seconds += await fill(many, `run-${r}`, perRun, { rareAt: r === 617 ? perRun >> 1 : -1 });
  const manyFillRate = (perRun * RUNS) / seconds;
  const across = await medianMs(async () => {
    const found = await many.searchLines({ q: RARE, limit: 100 });
    if (found.records.length !== 1) throw new Error(`store bench: search found ${found.records.length} lines`);
  });
  const acrossLevel = await medianMs(() => many.searchLines({ level: 'ERROR', limit: 500 }));
  await many.close();
  return { fillRate, ...one, isolatedLevel, manyFillRate, across, acrossLevel };
}

function report({ lines, big, hub, chunk, rows, scale }) {
  const ms = (value) => `${fixed(value, value < 10 ? 2 : 0)} ms`;
  const table = markdownTable(
    ['figure', 'chunk store', 'baseline: one row per line', 'ratio to baseline', 'goal', 'met'],
    [
      [`hub ingest, \`runlog run -- cat\` of ${int(lines)} lines`, `${int(hub.rate)} lines/s`, '~100,000 lines/s (issue 10, not this run)', ratio(hub.rate, 100_000), `≥ ${int(GOALS.ingest)}`, hub.rate >= GOALS.ingest ? 'yes' : 'no'],
      ['hub: bytes on disk per line (SQLite file + WAL)', fixed(hub.bytesPerLine, 1), '', '', `≤ ${GOALS.bytes}`, hub.bytesPerLine <= GOALS.bytes ? 'yes' : 'no'],
      [`store append, ${int(lines)} lines in batches of ${BATCH}`, `${int(chunk.rate)} lines/s`, `${int(rows.rate)} lines/s`, ratio(chunk.rate, rows.rate), '', ''],
      ['store: bytes on disk per line', fixed(chunk.bytesPerLine, 1), fixed(rows.bytesPerLine, 1), ratio(rows.bytesPerLine, chunk.bytesPerLine) + ' smaller', `≤ ${GOALS.bytes}`, chunk.bytesPerLine <= GOALS.bytes ? 'yes' : 'no'],
      [`${int(lines)}-line run: tail 500`, ms(chunk.tail), ms(rows.tail), ratio(rows.tail, chunk.tail) + ' faster', '', ''],
      [`${int(lines)}-line run: level=ERROR`, ms(chunk.level), ms(rows.level), ratio(rows.level, chunk.level) + ' faster', '', ''],
      [`${int(lines)}-line run: a rare string`, ms(chunk.rare), ms(rows.rare), ratio(rows.rare, chunk.rare) + ' faster', '', ''],
      [`${int(big)}-line run: built through the store API`, `${int(scale.fillRate)} lines/s`, '', '', '', ''],
      [`${int(big)}-line run: tail 500`, ms(scale.tail), '', '', `≤ ${GOALS.tail} ms`, scale.tail <= GOALS.tail ? 'yes' : 'no'],
      [`${int(big)}-line run: level=ERROR (tracebacks)`, ms(scale.level), '', '', `≤ ${GOALS.level} ms`, scale.level <= GOALS.level ? 'yes' : 'no'],
      [`${int(big)}-line run: level=ERROR (isolated errors, 1 in 10,000)`, ms(scale.isolatedLevel), '', '', `≤ ${GOALS.level} ms`, scale.isolatedLevel <= GOALS.level ? 'yes' : 'no'],
      [`${int(big)}-line run: a rare string`, ms(scale.rare), '', '', `≤ ${GOALS.rare} ms`, scale.rare <= GOALS.rare ? 'yes' : 'no'],
      [`${int(RUNS)} runs, ${int(big)} lines: built`, `${int(scale.manyFillRate)} lines/s`, '', '', '', ''],
      [`${int(RUNS)} runs: a rare string (searchLines)`, ms(scale.across), '', '', `≤ ${GOALS.rare} ms`, scale.across <= GOALS.rare ? 'yes' : 'no'],
      [`${int(RUNS)} runs: level=ERROR, newest 500 (searchLines)`, ms(scale.acrossLevel), '', '', '', ''],
    ],
  );
  const met = hub.rate >= GOALS.ingest && hub.bytesPerLine <= GOALS.bytes && scale.tail <= GOALS.tail && scale.level <= GOALS.level && scale.rare <= GOALS.rare && scale.across <= GOALS.rare;
  return {
    key: 'store',
    title: 'Line store: ingest, bytes on disk, reads at scale',
    about:
      `Chunks (src/store/chunks) against the release before them (one SQLite row per line), same machine, same run. ` +
      `Hub ingest: \`runlog run --hub -- cat\` of ${int(lines)} lines of 100 bytes, spawn to exit (the hub used ${fixed(hub.hubCpu, 1)} CPU-s). ` +
      'Appends: the time in appendRecords alone (making the lines is not timed), after a 20,000-line warm-up. ' +
      'Reads: median of 7 after one warm-up call; errors come as 25-line tracebacks every 20,000 lines unless said. ' +
      'The baseline row of the hub ingest is the figure issue 10 recorded on an idle machine, not measured here: compare the other rows for a same-run ratio.',
    table,
    verdict: met ? '**Goals met.**' : '**Some goals not met**: see the "met" column.',
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
