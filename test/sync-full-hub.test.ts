/**
 * `runlog sync` to a hub whose disk fills up in the middle of a run's delivery: the pages the hub
 * took before its 507s count as sent. It used to say "0 lines sent … still waiting" (and
 * `sent_lines: 0`) for a run the hub already held thousands of lines of, and the next sync
 * reported only the rest. The hub's data directory is a small tmpfs (mounted here: CI runs as
 * root), filled for real.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { Run } from '../src/store/store.js';
import { cli, FIXTURES, getJson, hubOn, PYTHON, tempDir, tmpfsOrSkip } from './helpers.js';

const LINES = 60_000; // 12 pages of the sync's 5,000 lines

let mounted: string | undefined;
let hub: RunningHub | undefined;
afterAll(async () => {
  await hub?.close();
  if (mounted !== undefined) execFileSync('umount', [mounted], { stdio: 'pipe' });
});

interface Synced {
  runs: { id: string; lines: number; outcome: string }[];
  sent_lines: number;
}

it('counts the lines a hub took before its disk filled as sent, and the next sync the rest', async (context) => {
  const dir = tmpfsOrSkip('4m', context);
  if (dir === undefined) return;
  mounted = dir;
  hub = await hubOn(join(dir, 'data'));
  // the run's lines in a WAL, the hub it names not answering: what `runlog sync` finds
  const data = tempDir();
  const away = await cli(['run', '--hub', 'http://127.0.0.1:9', '--data', data, '--id', 'full-sync', '--flush-timeout', '1s', '-q', '--', PYTHON, join(FIXTURES, 'many_lines.py'), String(LINES)]);
  expect(away.code).toBe(0);

  // the hub's disk full but for ~160 KB: room for a few pages, not all
  const { bavail, bsize } = statfsSync(dir);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 160 * 1024)));
  const first = await cli(['sync', '--data', data, '--hub', hub.url, '--timeout', '2s', '--json']);
  expect(first.code).toBe(1);
  const partly = JSON.parse(first.stdout) as Synced;
  const held = (await getJson<Run>(`${hub.url}/api/runs/full-sync`)).body.line_count;
  expect(held).toBeGreaterThan(0);
  expect(held).toBeLessThan(LINES);
  expect(partly.runs).toMatchObject([{ id: 'full-sync', outcome: 'waiting', lines: held }]);
  expect(partly.sent_lines).toBe(held);

  rmSync(filler);
  const second = await cli(['sync', '--data', data, '--hub', hub.url, '--json']);
  expect(second.code).toBe(0);
  const rest = JSON.parse(second.stdout) as Synced;
  expect(rest.runs).toMatchObject([{ id: 'full-sync', outcome: 'ended', lines: LINES - held }]);
  expect((await getJson<Run>(`${hub.url}/api/runs/full-sync`)).body).toMatchObject({ status: 'completed', line_count: LINES });
});
