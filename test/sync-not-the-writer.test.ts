/**
 * `runlog sync` of a run whose id another process has written on the hub since (`runlog run --id`
 * used again): the hub answers 409 to the create and 403 NOT_THE_WRITER to every line. The sync
 * took the 403 for a passing trouble: the run "still waits (hub unreachable)", exit 1, at every
 * sync for ever. It is now said as a 409 to the lines is ("the hub refuses its lines: …"), and
 * the WAL goes (its lines stay in the run's log file).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { Run } from '../src/store/store.js';
import { cli, getJson, hubOn, tempDir } from './helpers.js';

let hub: RunningHub;
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterAll(async () => hub?.close());

it('says the hub refuses the lines of a run another process writes, and does not send them again', async () => {
  const data = tempDir();
  const away = await cli(['run', '--hub', 'http://127.0.0.1:9', '--data', data, '--id', 'reused', '--flush-timeout', '1s', '-q', '--', 'echo', 'left']);
  expect(away.code).toBe(0);
  const other = await cli(['run', '--hub', hub.url, '--data', tempDir(), '--id', 'reused', '-q', '--', 'echo', 'the other run']);
  expect(other.code).toBe(0);

  const sync = await cli(['sync', '--data', data, '--hub', hub.url, '--timeout', '2s']);
  expect(sync.stdout).toContain('run reused: 0 lines sent to');
  // the other run has ended: the hub says that first, whoever writes (the lines' route checked the writer first)
  expect(sync.stdout).toContain('(the hub refuses its lines: run reused has ended (completed): it takes no more lines)');
  expect(sync.code).toBe(0);
  expect(existsSync(join(data, 'wal', 'reused.wal'))).toBe(false);
  expect((await getJson<Run>(`${hub.url}/api/runs/reused`)).body).toMatchObject({ status: 'completed', line_count: 1 });
  expect((await cli(['sync', '--data', data, '--hub', hub.url])).stdout).toContain('nothing to send');
});
