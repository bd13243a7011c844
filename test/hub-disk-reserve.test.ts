/**
 * Retention on a disk the hub's own store filled: a tmpfs mounted here (CI runs as root); skipped
 * saying why where mount is refused, failed in strict mode. Deleting writes too (SQLite's WAL, then
 * a checkpoint that grows the file), so `runlog cleanup` answered 507 like any write and the hub
 * stayed full until someone freed room by hand; the reserve beside the store (disk-reserve.ts) is
 * given back to it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startHub } from '../src/server/listen.js';
import { tmpfsOrSkip } from './helpers.js';

const RESERVE = 8 * 1024 * 1024;

it('runs cleanup on a disk its store filled (the reserve given back), and takes lines again after it', { timeout: 60_000 }, async (context) => {
  const disk = tmpfsOrSkip('64m', context);
  if (disk === undefined) return;
  try {
    const hub = await startHub({ dataDir: join(disk, 'data'), port: 0, diskReserveBytes: RESERVE });
    try {
      const reserve = join(disk, 'data', 'runlog.db-reserve');
      expect(statSync(reserve).size).toBe(RESERVE);
      const filler = join(disk, 'filler');
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M'], { stdio: 'ignore' }); // until ENOSPC
      truncateSync(filler, statSync(filler).size - 6 * 1024 * 1024); // 6 MiB left, for the store to fill
      // lines that do not compress: the store fills the disk with ended runs
      const text = Array.from({ length: 2000 }, () => randomBytes(30).toString('hex')).join('\n');
      const post = (id: string) => fetch(`${hub.url}/api/runs/${id}/text?final=1`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text });
      let status = 200;
      for (let n = 0; n < 200 && status === 200; n++) status = (await post(`fill-${n}`)).status;
      expect(status).toBe(507);
      const cleanup = await fetch(`${hub.url}/api/cleanup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runs_older_than: '1ms' }) });
      expect(cleanup.status).toBe(200);
      expect(((await cleanup.json()) as { runs_deleted: number }).runs_deleted).toBeGreaterThan(10);
      expect(existsSync(reserve)).toBe(false); // the disk has no room to spare for it again yet
      expect((await post('after-cleanup')).status).toBe(200);
      expect(await (await fetch(`${hub.url}/healthz`)).json()).toMatchObject({ ok: true });
    } finally {
      await hub.close();
    }
  } finally {
    spawnSync('umount', ['-l', disk]);
  }
});

it('starts on a disk full to the last byte by giving the reserve back (it exited 2: "cannot write the lock file")', { timeout: 60_000 }, async (context) => {
  const disk = tmpfsOrSkip('64m', context);
  if (disk === undefined) return;
  try {
    const dataDir = join(disk, 'data');
    const first = await startHub({ dataDir, port: 0, diskReserveBytes: RESERVE });
    await fetch(`${first.url}/api/runs/kept/text?final=1`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a line\n' });
    await first.close();
    spawnSync('dd', ['if=/dev/zero', `of=${join(disk, 'filler')}`, 'bs=4k'], { stdio: 'ignore' }); // until ENOSPC
    const hub = await startHub({ dataDir, port: 0, diskReserveBytes: RESERVE });
    try {
      expect(existsSync(join(dataDir, 'runlog.db-reserve'))).toBe(false);
      expect(((await (await fetch(`${hub.url}/api/runs/kept`)).json()) as { line_count: number }).line_count).toBe(1);
    } finally {
      await hub.close();
    }
  } finally {
    spawnSync('umount', ['-l', disk]);
  }
});
