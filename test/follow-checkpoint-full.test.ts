/**
 * `runlog follow` whose --data (the checkpoint's disk) fills up: a tmpfs mounted here (CI runs as
 * root); skipped saying why where mount is refused, failed in strict mode. The checkpoint's ENOSPC
 * used to be thrown into the shipper, which said "hub … unreachable (ENOSPC …)" and backed off
 * before each batch, and into the stop, which crashed with a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cliKilledAfterEach, hubOn, runRecords, tempDir, tmpfsOrSkip, waitFor } from './helpers.js';

const cli = cliKilledAfterEach();
let hub: RunningHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

it('says the checkpoint cannot be written (not that the hub is unreachable), ships every line meanwhile, and stops with exit 0 once room is back', { timeout: 60_000 }, async (context) => {
  const disk = tmpfsOrSkip('256k', context);
  if (disk === undefined) return;
  try {
    hub = await hubOn(tempDir());
    const file = join(tempDir(), 'app.log');
    writeFileSync(file, 'first\n');
    const data = join(disk, 'data');
    const follower = cli(['follow', file, '--run', 'cp-full', '--hub', hub.url, '--data', data, '--poll', '100ms']);
    let stderr = '';
    follower.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const count = async (n: number) => ((await runRecords(hub!.url, 'cp-full')).length === n ? true : undefined);
    await waitFor(() => count(1), 20_000, 'the first line on the hub');
    const filler = join(disk, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' }); // until ENOSPC
    for (let n = 1; n <= 3; n++) {
      appendFileSync(file, `full ${n}\n`);
      await waitFor(() => count(1 + n), 20_000, `line ${n} on the hub with the disk full`);
    }
    expect(stderr).toMatch(/cannot write the checkpoint .*cp-full\.json \(ENOSPC/);
    expect(stderr).not.toMatch(/unreachable/);
    rmSync(filler);
    appendFileSync(file, 'room again\n');
    await waitFor(() => count(5), 20_000, 'the line after the disk had room again');
    await waitFor(() => stderr.includes('is written again') || undefined, 20_000, 'the notice that the checkpoint is written again');
    follower.child.kill('SIGTERM');
    const result = await follower;
    expect(result.code).toBe(0);
    expect(stderr.match(/cannot write the checkpoint/g)).toHaveLength(1);
    expect(readdirSync(join(data, 'follow')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect((await runRecords(hub.url, 'cp-full')).map((record) => record.message)).toEqual(['first', 'full 1', 'full 2', 'full 3', 'room again']);
  } finally {
    spawnSync('umount', ['-l', disk]);
  }
});
