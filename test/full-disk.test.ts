/**
 * Issue 9, full disks: the runner's data directory on a 2 MB tmpfs (mounted here: CI runs as
 * root). Skipped with a message where mount is not permitted, failed instead in strict mode.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../src/store/store.js';
import type { RunningHub } from '../src/server/listen.js';
import { cli, FIXTURES, getJson, hubOn, PYTHON, tempDir } from './helpers.js';

const STRICT = process.env.RUNLOG_TEST_STRICT === '1';
const LINES = 50_000; // ~4 MB of log file and WAL: twice the disk

function mountTmpfs(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

const mounts: string[] = [];
let hub: RunningHub | undefined;
let skipReason: string | undefined;

beforeAll(async () => {
  const probe = join(tempDir(), 'probe');
  skipReason = mountTmpfs(probe);
  if (skipReason === undefined) mounts.push(probe);
  if (skipReason !== undefined && STRICT) throw new Error(`full-disk tests: cannot mount a tmpfs (${skipReason}); strict mode (RUNLOG_TEST_STRICT=1): not skipping`);
  if (skipReason !== undefined) console.warn(`full-disk tests skipped: cannot mount a tmpfs (${skipReason})`);
  hub = await hubOn(tempDir());
});

afterAll(async () => {
  for (const dir of mounts) execFileSync('umount', [dir], { stdio: 'pipe' });
  await hub?.close();
});

function fullDisk(): string {
  const dir = join(tempDir(), 'data');
  const problem = mountTmpfs(dir);
  if (problem !== undefined) throw new Error(`mount: ${problem}`);
  mounts.push(dir);
  return dir;
}

const job = ['/bin/sh', '-c', `${PYTHON} ${join(FIXTURES, 'many_lines.py')} ${LINES}; exit 3`];

describe('a runner whose disk is full (issue 9)', () => {
  it("counts and says the lines its log file lost, exits with the command's code, and the hub gets every line", async (context) => {
    if (skipReason !== undefined) return context.skip();
    const data = fullDisk();
    const result = await cli(['run', '--quiet', '--json', '--hub', hub!.url, '--data', data, '--id', 'full-hub-up', '--', ...job]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('ENOSPC');
    const run = (await getJson<Run>(`${hub!.url}/api/runs/full-hub-up`)).body;
    expect(run.status).toBe('failed');
    expect(run.error_message).toMatch(/lines missing from the log file \(disk full\)/);
    const logs = await cli(['logs', 'full-hub-up', '--hub', hub!.url]);
    const lines = logs.stdout.split('\n');
    expect(lines.filter((line) => line.startsWith('line '))).toHaveLength(LINES);
    expect(lines.some((line) => /^runlog: \d+ lines missing from the log file/.test(line))).toBe(true);
  });

  it("with the hub away too: counts the lines it drops, says so in the run, exits with the command's code, and runlog sync delivers what the disk kept", async (context) => {
    if (skipReason !== undefined) return context.skip();
    const data = fullDisk();
    const result = await cli(['run', '--quiet', '--json', '--hub', 'http://127.0.0.1:9', '--flush-timeout', '1s', '--data', data, '--id', 'full-hub-away', '--', ...job]);
    expect(result.code).toBe(3);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { error_message: string };
    const dropped = Number(/(\d+) lines dropped/.exec(summary.error_message)?.[1]);
    expect(dropped).toBeGreaterThan(0);
    // the hub comes back: what the WAL held goes, with the run's real end and its drop count
    const sync = await cli(['sync', '--data', data, '--hub', hub!.url]);
    expect(sync.code).toBe(0);
    const run = (await getJson<Run>(`${hub!.url}/api/runs/full-hub-away`)).body;
    expect(run).toMatchObject({ status: 'failed', exit_code: 3 });
    expect(run.error_message).toContain(`${dropped} lines dropped`);
    // every line printed is on the hub (once) or counted as dropped; the count also covers the
    // runner's own lines (a warning, the exit) that the full disk took, hence the small slack
    const logs = await cli(['logs', 'full-hub-away', '--hub', hub!.url]);
    const onHub = logs.stdout.split('\n').filter((line) => line.startsWith('line '));
    expect(new Set(onHub).size).toBe(onHub.length);
    expect(onHub.length + dropped).toBeGreaterThanOrEqual(LINES);
    expect(onHub.length + dropped).toBeLessThanOrEqual(LINES + 5);
  });
});
