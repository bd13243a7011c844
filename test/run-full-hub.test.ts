/**
 * `runlog run --hub` against a hub whose disk fills up while the command prints (issue 9: a line
 * read is a line kept). The hub answers 507 STORAGE_FULL: the runner used to call it
 * "unreachable (507 …)". It must say what it is (the hub is up, its store is full), keep the lines
 * in its write-ahead log and send them again until the hub has room: none lost, none twice. The
 * hub's data directory is a small tmpfs (mounted here: CI runs as root), filled for real.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { Run } from '../src/store/store.js';
import { cli, FIXTURES, getJson, hubOn, PYTHON, tempDir, waitFor, tmpfsOrSkip } from './helpers.js';

const LINES = 30_000;

let mounted: string | undefined;
let hub: RunningHub | undefined;
afterAll(async () => {
  await hub?.close();
  if (mounted !== undefined) execFileSync('umount', ['-l', mounted], { stdio: 'pipe' });
});

it('says the hub is up with its store full (not unreachable), keeps the lines and sends them again once it has room: none lost', { timeout: 120_000 }, async (context) => {
  const dir = tmpfsOrSkip('4m', context);
  if (dir === undefined) return;
  mounted = dir;
  hub = await hubOn(join(dir, 'data'));
  // the hub's disk full but for ~100 KB: room for the run and a few batches, not all its lines
  const { bavail, bsize } = statfsSync(dir);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 100 * 1024)));
  const data = tempDir();
  const go = join(data, 'go');
  // prints every line, then waits (the runner shipping meanwhile) until the disk has room again
  const script = `${PYTHON} ${join(FIXTURES, 'many_lines.py')} ${LINES}; while [ ! -e ${go} ]; do sleep 0.05; done`;
  const running = cli(['run', '--hub', hub.url, '--data', data, '--id', 'full-run', '--flush-timeout', '60s', '-q', '--', 'sh', '-c', script]);
  let stderr = '';
  running.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(() => /store is full/.test(stderr) || undefined, 60_000, 'the runner to say the hub is full');
  const held = (await getJson<Run>(`${hub.url}/api/runs/full-run`)).body.line_count;
  expect(held).toBeLessThan(LINES);

  rmSync(filler);
  writeFileSync(go, '');
  const done = await running;
  expect(done.code).toBe(0);
  expect(stderr).toMatch(/hub http:\/\/127\.0\.0\.1:\d+ is up but its store is full \(507: the hub's store is full \((SQLITE_FULL|ENOSPC)[^\n]*\); lines wait in the write-ahead log, sent again with backoff until it has room/);
  expect(stderr).not.toMatch(/unreachable/);
  expect(stderr).toMatch(/stores lines again/);
  const run = (await getJson<Run>(`${hub.url}/api/runs/full-run`)).body;
  expect(run).toMatchObject({ status: 'completed', exit_code: 0, line_count: LINES });
  const stored = [];
  for (let page = await hub.store.readLogs('full-run', 0, 10_000); page.length > 0; page = await hub.store.readLogs('full-run', page.at(-1)!.seq, 10_000)) stored.push(...page);
  expect(stored.map((record) => record.seq)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
  expect(stored.at(-1)?.message).toBe(`line ${String(LINES).padStart(8, '0')} ${'x'.repeat(60)}`);
  // the WAL is gone once the hub has every line
  expect(existsSync(join(data, 'wal')) ? execFileSync('ls', [join(data, 'wal')]).toString().trim() : '').toBe('');
});
