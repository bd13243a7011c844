/**
 * POST /api/runs/:id/text when the hub's disk fills up during the body: a tmpfs mounted here (CI
 * runs as root); skipped saying why where mount is refused, failed in strict mode. The lines
 * stored before stay (batches of 5,000), and the hub numbers them: the 507 used to say only
 * "retry later", and the same body sent again stored those lines twice.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Run } from '../src/store/store.js';
import { startHub } from '../src/server/listen.js';
import { tmpfsOrSkip } from './helpers.js';

it('answers 507 saying how many lines of the body were stored and the run\'s last seq, so a sender can go on without storing them twice', { timeout: 60_000 }, async (context) => {
  const disk = tmpfsOrSkip('64m', context);
  if (disk === undefined) return;
  try {
    const hub = await startHub({ dataDir: join(disk, 'data'), port: 0 });
    try {
      const filler = join(disk, 'filler');
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M'], { stdio: 'ignore' }); // until ENOSPC
      truncateSync(filler, statSync(filler).size - 3 * 1024 * 1024); // room for a part of the body
      // ~13 MB of lines that do not compress
      const text = Array.from({ length: 200_000 }, () => randomBytes(30).toString('hex')).join('\n');
      const answer = await fetch(`${hub.url}/api/runs/cut/text`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text });
      expect(answer.status).toBe(507);
      const body = (await answer.json()) as { error: string; message: string };
      expect(body.error).toBe('STORAGE_FULL');
      const said = /after (\d+) lines of this body were stored \(the run's last seq is (\d+)\)/.exec(body.message);
      expect(said, body.message).not.toBeNull();
      const run = (await (await fetch(`${hub.url}/api/runs/cut`)).json()) as Run;
      expect(Number(said![1])).toBeGreaterThan(0);
      expect(Number(said![1])).toBe(run.line_count);
      expect(Number(said![2])).toBe(run.line_count);
      expect(await (await fetch(`${hub.url}/healthz`)).json()).toMatchObject({ ok: false, store: 'full', error: expect.stringMatching(/SQLITE_FULL|ENOSPC/) });
    } finally {
      await hub.close();
    }
  } finally {
    spawnSync('umount', ['-l', disk]);
  }
});
