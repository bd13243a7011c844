/**
 * Memory: bytes of heap per record held in the runner's ring buffer (core/ring.ts
 * `Ring<LogRecord>`), records of 100-character lines made by RecordBuilder so they have their
 * real shape (stream, seq, timestamp, level, message, source, phase).
 *
 * Each measurement runs in a fresh `node --expose-gc` child (this file with `--child`):
 * heapUsed after gc with N items held, minus heapUsed after gc before making them, divided by N.
 * Baseline: the same lines decoded the same way (Buffer#toString, as the splitter does) and kept
 * alone in an array: the unavoidable cost of the text.
 *
 *   node bench/memory.js        (after npm run build)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { fixed, int, isMain, makeBlock, markdownTable, printResult, summary } from './lib.js';

const RECORDS = 200_000;
const MESSAGE_CHARS = 100;
const RUNS = 5;
const GOAL_BYTES = 300;
const BLOCK_LINES = 1000;

const KINDS = [
  { kind: 'strings', name: 'baseline: the messages alone in an array' },
  { kind: 'ring', name: '`Ring<LogRecord>` of RecordBuilder records' },
];

export async function run({ runs = RUNS, records = RECORDS } = {}) {
  const bytes = KINDS.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [k, { kind }] of KINDS.entries()) bytes[k].push(await measureInChild(kind, records));
  }
  return report(bytes, { runs, records });
}

function measureInChild(kind, records) {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--expose-gc', self, '--child', kind, String(records)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  return once(child, 'close').then(([code]) => {
    if (code !== 0) throw new Error(`memory bench: child ${kind} exited ${code}`);
    return JSON.parse(output).bytesPerItem;
  });
}

/** In the child: make `records` items of `kind`, keep them, and print the heap they take. */
async function child(kind, records) {
  const { RecordBuilder } = await import('../dist/pipeline/records.js');
  const { Ring } = await import('../dist/core/ring.js');
  // the bytes a pipe would deliver, made before measuring (Buffers live outside the heap anyway)
  const blocks = [];
  for (let first = 0; first < records; first += BLOCK_LINES) {
    blocks.push(makeBlock(first, Math.min(BLOCK_LINES, records - first), MESSAGE_CHARS + 1));
  }
  const before = heapAfterGc();
  let kept;
  if (kind === 'strings') {
    kept = [];
    for (const block of blocks) {
      for (let start = 0, end = block.indexOf(10); end !== -1; start = end + 1, end = block.indexOf(10, start)) {
        kept.push(block.toString('utf8', start, end));
      }
    }
  } else {
    kept = new Ring(records);
    const ring = kept;
    const builder = new RecordBuilder({ stream: 'bench-memory-run', sink: { record: (r) => ring.push(r), progress() {} } });
    const stdout = builder.source('stdout');
    for (const block of blocks) stdout.push(block);
    stdout.end();
  }
  blocks.length = 0;
  const after = heapAfterGc();
  const count = kind === 'strings' ? kept.length : kept.size;
  if (count !== records) throw new Error(`memory bench: kept ${count} ${kind}, expected ${records}`);
  process.stdout.write(JSON.stringify({ kind, count, bytesPerItem: (after - before) / count }));
}

function heapAfterGc() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

function report(bytes, { runs, records }) {
  const stats = bytes.map(summary);
  const base = stats[0].median;
  const ring = stats[1].median;
  const met = ring <= GOAL_BYTES;
  const rows = KINDS.map(({ name }, k) => [
    name,
    fixed(stats[k].median, 1),
    `${fixed(stats[k].min, 1)} – ${fixed(stats[k].max, 1)}`,
    fixed(base, 1),
    `${fixed(stats[k].median / base)}×`,
    k === 1 ? `≤ ${GOAL_BYTES}` : '',
  ]);
  return {
    key: 'memory',
    title: 'Memory: bytes per record in the ring buffer',
    about:
      `${int(records)} records of ${MESSAGE_CHARS}-character lines, made by RecordBuilder, held in a \`Ring<LogRecord>\`; ` +
      'heap used after gc with them held minus before, divided by their number, in a fresh `node --expose-gc` ' +
      `per measurement, median of ${runs}. The baseline holds the same lines as bare strings in an array. ` +
      `Goal: ≤ ${GOAL_BYTES} B/record.`,
    table: markdownTable(['held', 'bytes/record (median)', 'min – max', 'baseline bytes', 'ratio to baseline', 'goal'], rows),
    verdict: met
      ? `**Goal met**: ${fixed(ring, 1)} B/record (goal ≤ ${GOAL_BYTES}); ${fixed(ring - base, 1)} B of it is the record beyond its text.`
      : `**Goal not met**: ${fixed(ring, 1)} B/record (goal ≤ ${GOAL_BYTES}); ${fixed(ring - base, 1)} B of it is the record beyond its text.`,
    met,
  };
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--child');
  if (at !== -1) await child(process.argv[at + 1], Number(process.argv[at + 2]));
  else printResult(await run());
}
