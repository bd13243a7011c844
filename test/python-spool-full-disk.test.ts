/**
 * The Python client's spool (clients/python/runlog/_spool.py) on a real full disk: a tmpfs
 * mounted here (CI runs as root); skipped saying why where mount is refused, failed in strict mode.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { hubOn, PYTHON, runRecords, tempDir, tmpfsOrSkip } from './helpers.js';

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

// a program whose hub is away logs 3000 lines into a spool with no room for them
const LOGS = `
import logging, sys, time, runlog
logging.getLogger().setLevel(logging.INFO)
logging.getLogger().addHandler(runlog.Handler(run_id=sys.argv[1]))
for i in range(int(sys.argv[2])):
    logging.info("line %d %s", i, "y" * 50)
if sys.argv[2] == "1":
    time.sleep(3)  # the program that reaches the hub: it delivers what the first left
`;

it('tells the hub every line a full spool dropped, once it is back (it said only the last count, or nothing: the notice kept seq 0)', { timeout: 60_000 }, async (context) => {
  if (!existsSync(PYTHON)) {
    if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`${PYTHON} not found; strict mode (RUNLOG_TEST_STRICT=1): not skipping`);
    return context.skip();
  }
  const dir = tmpfsOrSkip('256k', context);
  if (dir === undefined) return;
  const hub = await hubOn(tempDir());
  try {
    const filler = join(dir, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' }); // until ENOSPC
    truncateSync(filler, statSync(filler).size - 16 * 1024); // the run's small files, and no more
    const env = { ...process.env, PYTHONPATH: CLIENT, RUNLOG_SPOOL: join(dir, 'spool') };
    const away = spawnSync(PYTHON, ['-c', LOGS, 'spool-full', '3000'], { encoding: 'utf8', env: { ...env, RUNLOG_HUB: 'http://127.0.0.1:9' } });
    expect(away.status, away.stderr).toBe(0);
    expect(away.stderr).toMatch(/away at exit: .*; 3000 lines were dropped \(the spool full/);
    // not spawnSync: the hub answers from this process
    const back = spawn(PYTHON, ['-c', LOGS, 'delivers', '1'], { stdio: 'ignore', env: { ...env, RUNLOG_HUB: hub.url } });
    expect(await new Promise((resolve) => back.on('exit', resolve))).toBe(0);
    const records = await runRecords(hub.url, 'spool-full');
    expect(records.map((record) => record.message)).toEqual([expect.stringMatching(/^3000 lines dropped by runlog/)]);
  } finally {
    await hub.close();
    spawnSync('umount', ['-l', dir]);
  }
});
