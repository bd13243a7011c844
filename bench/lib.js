/**
 * Shared pieces of the benchmarks: the lines they print, the clock, statistics and tables.
 *
 * Every scenario measures its baseline in the same run as its figure (interleaved, repetition by
 * repetition), so a noisy machine slows both alike and the ratio stays meaningful.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bytes of a benchmark line, newline included. */
export const LINE_BYTES = 100;

/**
 * Line `i` as a training loop prints it: every 4th through Python's logging module (timestamp,
 * level, logger), the others bare prints. Padded to `bytes - 1` characters (ASCII), no newline.
 */
export function makeLine(i, bytes = LINE_BYTES) {
  const step = String(i).padStart(7, '0');
  const loss = (1 / (1 + (i % 1000))).toFixed(5);
  const text =
    i % 4 === 0
      ? `2025-06-01 12:00:00,${String(i % 1000).padStart(3, '0')} INFO trainer: step=${step} loss=${loss} lr=3.0e-04 `
      : `step ${step}/1000000 loss=${loss} lr=3.0e-04 grad_norm=1.2345 tokens/s=51234 `;
  return text.padEnd(bytes - 1, '.').slice(0, bytes - 1);
}

/** Lines [first, first + count) joined with newlines, as one buffer. */
export function makeBlock(first, count, bytes = LINE_BYTES) {
  let text = '';
  for (let i = first; i < first + count; i++) text += `${makeLine(i, bytes)}\n`;
  return Buffer.from(text, 'latin1');
}

/** Wall clock in milliseconds with sub-ms precision; the same clock in every process. */
export function wallMs() {
  return performance.timeOrigin + performance.now();
}

/** median, min and max of a list of numbers */
export function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

/** The p-th percentile (0-100) of an ascending list: nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A fresh temporary directory; remove it with `rmSync(dir, { recursive: true, force: true })`. */
export function tempDir(name) {
  return mkdtempSync(join(tmpdir(), `runlog-bench-${name}-`));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** 1234567.8 → "1,234,568" */
export function int(n) {
  return Math.round(n).toLocaleString('en-US');
}

/** A number with `digits` decimals. */
export function fixed(n, digits = 2) {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

/** "1.23×" — how many times the baseline. */
export function ratio(value, baseline) {
  return `${fixed(value / baseline)}×`;
}

/** A Markdown table: it reads as well in a terminal as in docs/benchmarks.md. */
export function markdownTable(headers, rows) {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((row) => String(row[c]).length)));
  const line = (cells) => `| ${cells.map((cell, c) => String(cell).padEnd(widths[c])).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** True when this module is the script node was started with (`node bench/x.js`). */
export function isMain(importMetaUrl) {
  return process.argv[1] !== undefined && importMetaUrl === pathToFileURL(process.argv[1]).href;
}

/** Prints one scenario's result the way run.js writes it into the docs. */
export function printResult(result) {
  process.stdout.write(`\n## ${result.title}\n\n${result.about}\n\n${result.table}\n\n${result.verdict}\n`);
}

/**
 * Waits (at most `maxMs`) until the machine has been quiet for a second: the CPUs busy less than
 * `busyBelow` of the time (from /proc/stat). A scenario that measures small per-call costs calls it
 * first, so that what the previous scenario left running (a database's checkpoint, a vacuum) is
 * not measured with it. Returns what it saw: { waitedMs, busy } (busy: the last second's share).
 */
export async function settle({ busyBelow = 0.25, maxMs = 60_000 } = {}) {
  const started = Date.now();
  let busy = 1;
  while (Date.now() - started < maxMs) {
    const before = cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = cpuTimes();
    if (!before || !after) return { waitedMs: Date.now() - started, busy: NaN }; // no /proc: nothing to wait on
    busy = 1 - (after.idle - before.idle) / Math.max(1, after.total - before.total);
    if (busy < busyBelow) break;
  }
  return { waitedMs: Date.now() - started, busy };
}

function cpuTimes() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
    return { idle, total: fields.reduce((sum, n) => sum + n, 0) };
  } catch {
    return null;
  }
}
