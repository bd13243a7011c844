/**
 * The Python client's spool (clients/python/runlog/_spool.py) on a real full disk: a tmpfs
 * mounted here (CI runs as root); skipped saying why where mount is refused, failed in strict mode.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { PYTHON, tmpfsOrSkip } from './helpers.js';

const CLIENT = join(import.meta.dirname, '..', 'clients', 'python');

// argv: the spool file, then what to append: "3000" (3 items of 3 KB) or "after" (one small item)
const SCRIPT = `
import sys
from runlog._spool import Spool
spool = Spool(sys.argv[1])
if sys.argv[2] == "after":
    spool.append([{"seq": "after", "message": ""}])
    print([item[0]["seq"] for item in spool._read()])
else:
    for n in range(3):
        spool.append([{"seq": n, "message": "x" * 3000}])
    print(spool.dropped)
`;

function python(...args: string[]): string {
  const run = spawnSync(PYTHON, ['-c', SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: CLIENT } });
  expect(run.stderr).toBe(''); // never raises into the program
  return run.stdout.trim();
}

it('counts an item a full disk cut short as dropped, and the next item reads back whole (a torn line took it too, unsaid)', (context) => {
  if (!existsSync(PYTHON)) {
    if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`${PYTHON} not found; strict mode (RUNLOG_TEST_STRICT=1): not skipping`);
    return context.skip();
  }
  const dir = tmpfsOrSkip('256k', context);
  if (dir === undefined) return;
  try {
    const filler = join(dir, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' }); // until ENOSPC
    truncateSync(filler, statSync(filler).size - 8192); // room for two items and part of a third
    const spool = join(dir, 'spool', 'pending.jsonl');
    expect(python(spool, '3000')).toBe('1');
    rmSync(filler);
    expect(python(spool, 'after')).toBe("[0, 1, 'after']");
  } finally {
    spawnSync('umount', ['-l', dir]);
  }
});
