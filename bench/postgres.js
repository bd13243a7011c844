/**
 * PostgreSQL: runlog's hubs on one database, beside the seed's own path, same run.
 *
 *   ingest     `runlog run --hub A -- generate.py` (the capture benchmark's 1M lines of 100 bytes)
 *              through a hub on PostgreSQL (lines in compressed chunks) — and the same lines the
 *              seed's way: func_worker_heartbeat_with_logs called with batches of 100 logs (as its
 *              worker flushes), from 4 connections at once (4 workers), a row per line in system_logs.
 *   disk       bytes per line: the tables' total size (indexes, TOAST) grown / lines, for both.
 *   two hubs   a ticker at 1,000 lines/s → `runlog run --hub A` → viewer on hub B (SSE): latency
 *              from print to receipt (the path: A commits, NOTIFY, B reads the chunk, B publishes).
 *   fleet      1,000 simulated workers heartbeating every 20 s with 100 lines each, spread over
 *              hubs A and B, 30 s measured: heartbeat p50/p99 and the CPU of PostgreSQL's processes.
 *   retention  10M worker lines older than 48 h deleted in batches of 10,000 (20 ms apart) while a
 *              worker heartbeats every 100 ms with 100 lines: total time, the longest batch, and
 *              that heartbeat's p99 — beside the seed's cleanup_old_system_logs() (one DELETE) on
 *              the same 10M lines, with the same heartbeat running.
 *
 *   RUNLOG_BENCH_PG=postgres://… node bench/postgres.js    (after npm run build; default: the
 *   local server through /var/run/postgresql as the current user). Each part makes its own
 *   database runlog_bench_<random> and drops it. Run once: it takes several minutes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { EventSource } from 'eventsource';
import { heartbeatBody, startHubProcess } from './hub-process.js';
import { LINE_BYTES, fixed, int, isMain, makeBlock, makeLine, markdownTable, percentile, printResult, removeDir, tempDir, wallMs } from './lib.js';
import { PostgresStore } from '../dist/store/postgres/store.js';

const BASE = process.env.RUNLOG_BENCH_PG || `postgres://${process.env.USER ?? 'root'}@/postgres?host=/var/run/postgresql`;
const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));
const GENERATOR = fileURLToPath(new URL('./children/generate.py', import.meta.url));
const TICKER = fileURLToPath(new URL('./children/ticker.js', import.meta.url));
const PYTHON = '/usr/bin/python3';
const LINES = 1_000_000;
const SEED_BATCH = 100;
const SEED_CALLERS = 4;
const GOALS = { ingest: 300_000, seedRatio: 5, bytesPerLine: 40, twoHubsP99: 100 };

function withDatabase(url, name) {
  const match = /^(postgres(?:ql)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  return `${match[1]}/${name}${match[2] ?? ''}`;
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: BASE });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh migrated database for one part; dropped by the returned function. */
async function freshDatabase() {
  const name = `runlog_bench_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = withDatabase(BASE, name);
  await (await PostgresStore.open(url)).close();
  return { url, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function tableBytes(url, tables) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CHECKPOINT').catch(() => {});
    const { rows } = await client.query(`SELECT SUM(pg_total_relation_size(t))::bigint AS n FROM unnest($1::regclass[]) t`, [tables]);
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

/** CPU seconds used so far by every process named postgres (the server is shared: an upper bound). */
function postgresCpuSeconds() {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

async function ingest() {
  const db = await freshDatabase();
  const dir = tempDir('pg-ingest');
  const hub = await startHubProcess('pg-ingest', join(dir, 'hub'), ['--db', db.url]);
  try {
    const sample = join(dir, 'sample.txt');
    writeFileSync(sample, Buffer.concat(Array.from({ length: 16 }, (_, b) => makeBlock(b * 1000, 1000))));
    const shipped = async (hubUrl, id) => {
      const started = performance.now();
      const child = spawn(process.execPath, [CLI, 'run', '--hub', hubUrl, '--quiet', '--data', join(dir, `runner-${id}`), '--id', id, '--', PYTHON, GENERATOR, sample, String(LINES), String(LINE_BYTES)], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const [code] = await once(child, 'close');
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) throw new Error(`runlog run exited ${code}`);
      const stored = await (await fetch(`${hubUrl}/api/runs/${id}`)).json();
      if (stored.line_count !== LINES) throw new Error(`the hub stored ${stored.line_count} lines, not ${LINES}`);
      return seconds;
    };
    // for scale, same run: the same lines through a hub on SQLite (the default store)
    const sqliteHub = await startHubProcess('pg-ingest-sqlite', join(dir, 'sqlite'));
    let sqliteSeconds;
    try {
      sqliteSeconds = await shipped(sqliteHub.url, 'bench-sqlite');
    } finally {
      await sqliteHub.stop();
    }
    const before = await tableBytes(db.url, ['run_chunks', 'runs']);
    const cpuBefore = hub.cpuSeconds() + postgresCpuSeconds();
    const hubSeconds = await shipped(hub.url, 'bench-pg');
    // CPU, less sensitive than wall time to the machine's other load: the hub and PostgreSQL
    const hubCpu = hub.cpuSeconds() + postgresCpuSeconds() - cpuBefore;
    const hubBytes = (await tableBytes(db.url, ['run_chunks', 'runs'])) - before;

    // the seed's path, the same lines: the function with batches of 100, SEED_CALLERS at once
    const seedBefore = await tableBytes(db.url, ['system_logs']);
    const pool = new pg.Pool({ connectionString: db.url, max: SEED_CALLERS });
    const seedStarted = performance.now();
    const seedCpuBefore = postgresCpuSeconds();
    let next = 0;
    await Promise.all(
      Array.from({ length: SEED_CALLERS }, async (_, w) => {
        for (;;) {
          const first = next;
          if (first >= LINES) return;
          next += SEED_BATCH;
          const logs = [];
          for (let i = first; i < first + SEED_BATCH; i++) {
            logs.push({ timestamp: new Date().toISOString(), level: 'INFO', message: makeLine(i % 16_000), task_id: null, metadata: {} });
          }
          await pool.query('SELECT func_worker_heartbeat_with_logs($1, 24000, 1000, $2::jsonb, NULL)', [`seed-${w}`, JSON.stringify(logs)]);
        }
      }),
    );
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    // PostgreSQL only: the callers' JSON here is the worker's cost, not the store's
    const seedCpu = postgresCpuSeconds() - seedCpuBefore;
    await pool.end();
    const seedBytes = (await tableBytes(db.url, ['system_logs'])) - seedBefore;
    return { hubCpu, seedCpu, sqliteRate: LINES / sqliteSeconds, hubRate: LINES / hubSeconds, seedRate: LINES / seedSeconds, hubBytes: hubBytes / LINES, seedBytes: seedBytes / LINES };
  } finally {
    await hub.stop();
    removeDir(dir);
    await db.drop();
  }
}

/** ticker → runlog run --hub A → viewer on B: p50, p99, max latency in ms */
async function twoHubs({ rate = 1000, seconds = 10 } = {}) {
  const db = await freshDatabase();
  const dir = tempDir('pg-two');
  const a = await startHubProcess('pg-a', join(dir, 'a'), ['--db', db.url]);
  const b = await startHubProcess('pg-b', join(dir, 'b'), ['--db', db.url]);
  const id = 'bench-two-hubs';
  try {
    const cli = spawn(process.execPath, [CLI, 'run', '--hub', a.url, '--quiet', '--data', join(dir, 'runner'), '--id', id, '--', process.execPath, TICKER, String(rate), String(seconds), '1500'], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const closed = once(cli, 'close');
    for (;;) {
      const response = await fetch(`${b.url}/api/runs/${id}`);
      await response.arrayBuffer();
      if (response.ok) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // a viewer on each hub, same run: A's publishes what it ingested, B's learns of it by NOTIFY
    const viewers = [a, b].map((hub) => {
      const latencies = [];
      const source = new EventSource(`${hub.url}/api/runs/${id}/logs/stream?after=0`);
      const ended = new Promise((resolve) => source.addEventListener('end', resolve));
      source.addEventListener('log', (event) => {
        const message = JSON.parse(event.data).message;
        const space = message.indexOf(' ');
        latencies.push(wallMs() - Number(message.slice(space + 1, message.indexOf(' ', space + 1))));
      });
      return { latencies, source, ended };
    });
    await closed;
    for (const viewer of viewers) {
      await viewer.ended;
      viewer.source.close();
      viewer.latencies.sort((x, y) => x - y);
    }
    const stats = (l) => ({ count: l.length, p50: percentile(l, 50), p99: percentile(l, 99), max: l.at(-1) });
    return { expected: rate * seconds, a: stats(viewers[0].latencies), b: stats(viewers[1].latencies) };
  } finally {
    await a.stop();
    await b.stop();
    removeDir(dir);
    await db.drop();
  }
}

/** 1,000 workers, every 20 s, 100 lines each, alternating hubs A and B; 30 s measured. */
async function fleet({ workers = 1000, intervalS = 20, lines = 100, measureS = 30 } = {}) {
  const db = await freshDatabase();
  const dir = tempDir('pg-fleet');
  const hubs = [await startHubProcess('pg-fa', join(dir, 'a'), ['--db', db.url]), await startHubProcess('pg-fb', join(dir, 'b'), ['--db', db.url])];
  try {
    const latencies = [];
    const cpu = postgresCpuSeconds();
    const hubCpu = hubs.map((h) => h.cpuSeconds());
    const started = performance.now();
    const until = started + measureS * 1000;
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        let seq = 1;
        let next = performance.now() + Math.random() * intervalS * 1000;
        for (;;) {
          if (next >= until) return;
          const wait = next - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          const hub = hubs[w % 2];
          const t0 = performance.now();
          const response = await fetch(`${hub.url}/api/workers/fleet-${w}/heartbeat`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...heartbeatBody(lines, seq), heartbeat_interval_s: intervalS }),
          });
          await response.arrayBuffer();
          if (!response.ok) throw new Error(`heartbeat answered ${response.status}`);
          latencies.push(performance.now() - t0);
          seq += lines;
          next += intervalS * 1000;
        }
      }),
    );
    const wall = (performance.now() - started) / 1000;
    latencies.sort((x, y) => x - y);
    return {
      beats: latencies.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      dbCpuShare: (postgresCpuSeconds() - cpu) / wall,
      hubCpuShare: hubs.map((h, i) => (h.cpuSeconds() - hubCpu[i]) / wall),
    };
  } finally {
    for (const hub of hubs) await hub.stop();
    removeDir(dir);
    await db.drop();
  }
}

/** `rows` worker lines older than 48 h, made in the database (generate_series), in slices of 1M. */
async function fillOldLines(pool, rows) {
  for (let done = 0; done < rows; done += 1_000_000) {
    await pool.query(
      `INSERT INTO system_logs (timestamp, level, message, source_type, source_id, metadata)
       SELECT NOW() - INTERVAL '72 hours' + g * INTERVAL '1 ms', 'INFO',
              'step ' || g || ' loss=0.12345 lr=3.0e-04 grad_norm=1.2345 tokens/s=51234 gpu_mem=21.3GiB', 'worker', 'w' || (g % 100), '{}'::jsonb
       FROM generate_series($1::bigint, $2::bigint) g`,
      [done + 1, Math.min(rows, done + 1_000_000)],
    );
  }
  await pool.query('VACUUM ANALYZE system_logs');
}

/** While `during` runs: a worker calls the seed's function with 100 lines every 100 ms; its latencies. */
async function probeWhile(pool, during) {
  const latencies = [];
  let done = false;
  const logs = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ timestamp: new Date().toISOString(), level: 'INFO', message: `probe ${i}` })));
  const probe = (async () => {
    while (!done) {
      const t0 = performance.now();
      await pool.query(`SELECT func_worker_heartbeat_with_logs('probe', NULL, NULL, $1::jsonb, NULL)`, [logs]);
      latencies.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const started = performance.now();
  const result = await during();
  const seconds = (performance.now() - started) / 1000;
  done = true;
  await probe;
  latencies.sort((x, y) => x - y);
  return { seconds, result, probeP99: percentile(latencies, 99), probeMax: latencies.at(-1) };
}

async function retention({ rows = 10_000_000 } = {}) {
  const db = await freshDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  try {
    const { deleteSystemLogsBefore } = await import('../dist/store/postgres/retention.js');
    await fillOldLines(pool, rows);
    // batched, timing each batch through a pool that notes every statement's duration
    const batches = [];
    const timed = { query: async (...args) => { const t0 = performance.now(); const r = await pool.query(...args); batches.push(performance.now() - t0); return r; } };
    const batched = await probeWhile(pool, () => deleteSystemLogsBefore(timed, Date.now() * 1000 - 48 * 3_600_000_000));
    batches.sort((x, y) => x - y);
    await pool.query('VACUUM system_logs');
    await fillOldLines(pool, rows);
    const single = await probeWhile(pool, () => pool.query('SELECT cleanup_old_system_logs()'));
    return { rows, batched, batchP50: percentile(batches, 50), batchMax: batches.at(-1), batchCount: batches.length, single };
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** `npm run bench` runs the first three; retention (10M lines, ~15 min) only when asked: `node bench/postgres.js retention`. */
export async function run({ parts = ['ingest', 'two-hubs', 'fleet'] } = {}) {
  const out = {};
  if (parts.includes('ingest')) out.ingest = await ingest();
  if (parts.includes('two-hubs')) out.twoHubs = await twoHubs();
  if (parts.includes('fleet')) out.fleet = await fleet();
  if (parts.includes('retention')) out.retention = await retention();
  return report(out);
}

function report({ ingest: i, twoHubs: t, fleet: f, retention: r }) {
  const rows = [];
  const verdicts = [];
  let met = true;
  if (i) {
    met &&= i.hubRate >= GOALS.ingest && i.hubRate / i.seedRate >= GOALS.seedRatio && i.hubBytes <= GOALS.bytesPerLine;
    const ratio = i.hubRate / i.seedRate;
    rows.push(['ingest through a hub on PostgreSQL (`runlog run -- generate.py`, 1M lines)', `${int(i.hubRate)} lines/s`, `≥ ${int(GOALS.ingest)}`]);
    rows.push(['  for scale, same run: the same through a hub on SQLite', `${int(i.sqliteRate)} lines/s`, '']);
    rows.push([`the seed's path: its function, batches of ${SEED_BATCH}, ${SEED_CALLERS} callers`, `${int(i.seedRate)} lines/s`, '']);
    rows.push(['hub ÷ seed (same lines, same run)', `${fixed(ratio, 1)}×`, `≥ ${GOALS.seedRatio}×`]);
    rows.push(['CPU seconds for the 1M lines: hub + PostgreSQL (runlog) vs PostgreSQL alone (the seed)', `${fixed(i.hubCpu, 1)} s vs ${fixed(i.seedCpu, 1)} s (${fixed(i.seedCpu / i.hubCpu, 1)}×)`, '']);
    rows.push(['bytes per line on disk: run_chunks (+ TOAST, indexes)', fixed(i.hubBytes, 1), `≤ ${GOALS.bytesPerLine}`]);
    rows.push(["bytes per line on disk: the seed's system_logs (+ its indexes)", fixed(i.seedBytes, 1), '']);
    verdicts.push(`ingest ${i.hubRate >= GOALS.ingest ? 'meets' : 'misses'} its goal; ${fixed(ratio, 1)}× the seed's path (${ratio >= GOALS.seedRatio ? 'meets' : 'misses'} ≥ 5×); ${fixed(i.hubBytes, 1)} bytes/line (${i.hubBytes <= GOALS.bytesPerLine ? 'meets' : 'misses'} ≤ 40)`);
  }
  if (t) {
    met &&= t.b.p99 <= GOALS.twoHubsP99;
    const line = (v) => `p50 ${fixed(v.p50, 1)} ms, p99 ${fixed(v.p99, 1)} ms, max ${fixed(v.max, 1)} ms (${int(v.count)} of ${int(t.expected)} lines)`;
    rows.push(['two hubs: runner → A → viewer on B, 1,000 lines/s', line(t.b), `p99 ≤ ${GOALS.twoHubsP99} ms`]);
    rows.push(['  baseline, same run: a viewer on A itself', line(t.a), '']);
    verdicts.push(`two hubs p99 ${t.b.p99 <= GOALS.twoHubsP99 ? 'meets' : 'misses'} its goal (${fixed(t.b.p99 - t.a.p99, 1)} ms over a viewer on A)`);
  }
  if (f) {
    rows.push([`fleet: 1,000 workers / 20 s / 100 lines, two hubs (${int(f.beats)} heartbeats)`, `p50 ${fixed(f.p50, 1)} ms, p99 ${fixed(f.p99, 1)} ms`, '']);
    rows.push(['fleet: CPU of every postgres process (share of one core; shared server)', `${fixed(f.dbCpuShare * 100, 1)} %`, '']);
    rows.push(['fleet: CPU of hubs A, B (share of one core)', f.hubCpuShare.map((s) => `${fixed(s * 100, 1)} %`).join(', '), '']);
  }
  if (r) {
    rows.push([`retention, batched (10,000 rows, 20 ms apart): ${int(r.rows)} lines`, `${fixed(r.batched.seconds, 1)} s, ${r.batchCount} batches, p50 ${fixed(r.batchP50, 0)} ms, longest ${fixed(r.batchMax, 0)} ms`, '']);
    rows.push(['  a worker heartbeating (100 lines, every 100 ms) meanwhile', `p99 ${fixed(r.batched.probeP99, 1)} ms, max ${fixed(r.batched.probeMax, 1)} ms`, '']);
    rows.push([`retention, the seed's cleanup_old_system_logs() (one DELETE): ${int(r.rows)} lines`, `${fixed(r.single.seconds, 1)} s in one statement`, '']);
    rows.push(['  a worker heartbeating meanwhile', `p99 ${fixed(r.single.probeP99, 1)} ms, max ${fixed(r.single.probeMax, 1)} ms`, '']);
    verdicts.push(`retention measured (the issue sets no goal for it): batched ${fixed(r.batched.seconds, 0)} s with a heartbeat p99 of ${fixed(r.batched.probeP99, 0)} ms, the seed's one DELETE ${fixed(r.single.seconds, 0)} s with ${fixed(r.single.probeP99, 0)} ms`);
  }
  return {
    title: 'PostgreSQL: hubs on one database, beside the seed',
    about: 'See the header of bench/postgres.js for what each row measures. One run of each part (retention on 10M lines runs only with `node bench/postgres.js retention`).',
    table: markdownTable(['measure', 'value', 'goal'], rows),
    verdict: `${!i && !t ? '**Measured**' : met ? '**Goal met**' : '**Goal not met**'}: ${verdicts.join('; ')}`,
    met,
  };
}

if (isMain(import.meta.url)) {
  const parts = process.argv.slice(2);
  printResult(await run(parts.length > 0 ? { parts } : {}));
}
