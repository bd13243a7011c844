/**
 * Peers: runlog's live path beside frontail (fed on stdin, as `cmd | frontail -`) on the scenarios
 * of the peer harness (../shared/peers, beside the checkout), the targets' repetitions
 * interleaved in one sitting so that a shared machine's load falls on all of them alike. Issue 10's
 * goals for the live path are ratios to frontail measured this way, so the baseline is frontail in
 * the same run; the figures and the goals go to docs/peers.md.
 *
 *   npm run build && npm run bench:peers                  3 repetitions (~10 min on 2 cores)
 *   node bench/peers.js --reps 1 --targets runlog,frontail-stdin
 *
 * The harness is read-only where it is laid out, so it is copied to $TMPDIR/runlog-peers and its
 * own dependencies installed there (npm registry); frontail 4.9.2 is installed under $PEERS_DIR
 * (default: that copy's peerdeps/) when it is not there already. Each sitting starts with an empty
 * results/ folder: no figure from an earlier sitting is compared.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixed, int, markdownTable } from './lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HARNESS = process.env.RUNLOG_PEERS_HARNESS ?? join(ROOT, '..', 'shared', 'peers');
const WORK = join(tmpdir(), 'runlog-peers');
const DOCS = join(ROOT, 'docs', 'peers.md');
const FRONTAIL = 'frontail@4.9.2';

// issue 10's goals for the live path, each against frontail-stdin in the same sitting
const GOALS = {
  rate: 4, // 1 viewer, max rate: ≥ 4× frontail-stdin's lines/s
  cpu: 2, // at 1,000 lines/s: all of runlog's processes ≤ 2× frontail-stdin's CPU seconds
  fanout200P99: 50, // 200 viewers at 1,000 lines/s: p99 ≤ 50 ms
  rssMB: 150, // peak RSS of the server side while 1M lines pass ≤ 150 MB
};

function options(argv) {
  const o = { reps: 3, targets: ['runlog', 'runlog-batch', 'frontail-stdin'] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--reps') o.reps = Number(argv[++i]);
    else if (argv[i] === '--targets') o.targets = argv[++i].split(',');
    else throw new Error(`bench/peers: unknown option ${argv[i]} (have --reps N, --targets a,b)`);
  }
  if (!Number.isInteger(o.reps) || o.reps < 1) throw new Error('bench/peers: --reps: expected an integer ≥ 1');
  if (!o.targets.includes('frontail-stdin')) o.targets.push('frontail-stdin'); // the baseline
  return o;
}

function sh(cmd, args, cwd, env = {}) {
  const result = spawnSync(cmd, args, { cwd, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`bench/peers: ${cmd} ${args.join(' ')} (in ${cwd}) exited with ${result.status ?? result.signal}`);
}

/** The harness, copied where it may write, with its own dependencies. */
function prepareHarness() {
  if (!existsSync(join(WORK, 'bin', 'bench.js'))) {
    cpSync(HARNESS, WORK, { recursive: true });
    makeWritable(WORK);
  }
  if (!existsSync(join(WORK, 'node_modules'))) sh('npm', ['install', '--no-audit', '--no-fund'], WORK);
  rmSync(join(WORK, 'results'), { recursive: true, force: true });
  mkdirSync(join(WORK, 'results', 'raw'), { recursive: true });
  const peersDir = process.env.PEERS_DIR ?? join(WORK, 'peerdeps');
  const frontail = join(peersDir, 'frontail');
  if (!existsSync(join(frontail, 'node_modules', 'frontail'))) {
    mkdirSync(frontail, { recursive: true });
    if (!existsSync(join(frontail, 'package.json'))) writeFileSync(join(frontail, 'package.json'), '{"name":"peerdeps-frontail","private":true}\n');
    sh('npm', ['install', '--no-audit', '--no-fund', FRONTAIL], frontail);
  }
  return peersDir;
}

function makeWritable(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    chmodSync(path, stat.mode | 0o200);
    if (stat.isDirectory()) makeWritable(path);
  }
  chmodSync(dir, statSync(dir).mode | 0o200);
}

const median = (summary, scenario, key) => summary.scenarios[scenario]?.agg[key]?.median ?? null;

function verdicts(summaries) {
  const ours = summaries.runlog ?? summaries['runlog-batch'];
  const base = summaries['frontail-stdin'];
  const best = (scenario, key, pick) => {
    const values = ['runlog', 'runlog-batch'].map((name) => summaries[name] && median(summaries[name], scenario, key)).filter((v) => v !== null && v !== undefined);
    return values.length === 0 ? null : pick(...values);
  };
  const rate = best('throughput', 'linesPerSec', Math.max) / median(base, 'throughput', 'linesPerSec');
  const cpu = median(ours, 'latency', 'serverCpuSec') / median(base, 'latency', 'serverCpuSec');
  const p99 = best('fanout200', 'p99ms', Math.min);
  const rss = best('memory', 'peakRssMB', Math.min);
  return [
    ['1 viewer, max rate: lines/s ÷ frontail-stdin', `${fixed(rate)}×`, `≥ ${GOALS.rate}×`, rate >= GOALS.rate],
    ['1,000 lines/s: CPU-s of all runlog processes ÷ frontail-stdin', `${fixed(cpu)}×`, `≤ ${GOALS.cpu}×`, cpu <= GOALS.cpu],
    ['200 viewers at 1,000 lines/s: p99', `${fixed(p99, 1)} ms`, `≤ ${GOALS.fanout200P99} ms`, p99 <= GOALS.fanout200P99],
    ['1M lines: peak RSS of the server side', `${int(rss)} MB`, `≤ ${GOALS.rssMB} MB`, rss <= GOALS.rssMB],
  ];
}

const { reps, targets } = options(process.argv.slice(2));
if (!existsSync(join(HARNESS, 'bin', 'bench.js'))) {
  const said = `bench/peers: skipped: no peer harness at ${HARNESS} (set RUNLOG_PEERS_HARNESS)`;
  if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(said);
  process.stdout.write(`${said}\n`);
  process.exit(0);
}
if (!existsSync(join(ROOT, 'dist'))) throw new Error('bench/peers: no dist/: run `npm run build` first');
const peersDir = prepareHarness();
const startedAt = new Date();
const loadAtStart = loadavg()[0];
sh('bash', ['bin/run-interleaved.sh', ...targets], WORK, { REPS: String(reps), RUNLOG_DIR: ROOT, PEERS_DIR: peersDir });
const loadAtEnd = loadavg()[0];
const summaries = Object.fromEntries(targets.map((name) => [name, JSON.parse(readFileSync(join(WORK, 'results', `${name}.summary.json`), 'utf8'))]));
const side = execFileSync('node', ['bin/compare.js', ...targets], { cwd: WORK, encoding: 'utf8' }).trim();
const goals = verdicts(summaries);
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
const frontailVersion = summaries['frontail-stdin'].version;
const doc = [
  '# runlog beside its peers',
  '',
  '<!-- generated by `npm run bench:peers` (bench/peers.js): edit bench/peers.js, not this file -->',
  '',
  `runlog and frontail ${frontailVersion} fed on stdin (\`cmd | frontail -\`), on the scenarios of the peer harness ` +
    `(\`../shared/peers\`, its README says what each measures), ${reps} repetition${reps === 1 ? '' : 's'} each, interleaved, in one sitting; ` +
    'medians, with [min–max]. `runlog` reads the live stream a line per event (as `runlog logs -f`), `runlog-batch` batched (`?batch=1`, as the web UI). ' +
    'runlog\'s side counts both of its processes, the hub and `runlog run` (which also stores every line); frontail stores nothing.',
  '',
  `- date: ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} (start); load average (1 min): ${fixed(loadAtStart)} at start, ${fixed(loadAtEnd)} at end`,
  `- node: ${process.version}; code: commit ${commit}`,
  '',
  '## Issue 10\'s goals for the live path',
  '',
  markdownTable(['goal', 'runlog', 'wanted', 'met?'], goals.map(([what, got, want, met]) => [what, got, want, met ? 'yes' : '**no**'])),
  '',
  '## Side by side',
  '',
  side,
  '',
].join('\n');
process.stdout.write(`\n${doc}`);
writeFileSync(DOCS, doc);
process.stdout.write(`\nwritten: ${DOCS}\n`);
