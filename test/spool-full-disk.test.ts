/**
 * The worker's heartbeat spool (src/pipeline/spool/spool.ts) on a real full disk: a tmpfs mounted
 * here (CI runs as root); skipped saying why where mount is refused, failed in strict mode.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Spool } from '../src/pipeline/spool/spool.js';
import { tmpfsOrSkip } from './helpers.js';

/** Fills the disk at `dir` but for `room` bytes; the filler's path (remove it to free the disk). */
function fillBut(dir: string, room: number): string {
  const filler = join(dir, 'filler');
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' }); // until ENOSPC
  truncateSync(filler, statSync(filler).size - room);
  return filler;
}

it('drops and counts what a full disk refuses, without throwing, and what came before and after reads back whole', (context) => {
  const dir = tmpfsOrSkip('256k', context);
  if (dir === undefined) return;
  try {
    const spool = new Spool<{ n: number | string; logs: string[] }>(join(dir, 'spool'), 'w', Infinity, (item) => item.logs.length);
    const filler = fillBut(dir, 8192);
    const line = 'x'.repeat(3000);
    // the third item is cut short by the disk (a short write), the fourth refused outright
    for (let n = 0; n < 4; n++) expect(() => spool.append([{ n, logs: [line, line.slice(0, 10)] }])).not.toThrow();
    expect(spool.dropped).toBe(4);
    expect(spool.size).toBe(2);
    rmSync(filler);
    spool.append([{ n: 'after', logs: [] }]);
    // a later process (the worker restarted) reads the file as this one left it
    expect(new Spool<{ n: number | string }>(join(dir, 'spool'), 'w').size).toBe(3);
    expect(spool.drain().map((item) => item.n)).toEqual([0, 1, 'after']);
  } finally {
    spawnSync('umount', ['-l', dir]);
  }
});
