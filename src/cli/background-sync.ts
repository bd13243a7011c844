/**
 * The WALs that dead runners left on a data directory are delivered by the next runlog command
 * that uses it (`run`, `worker`): it starts `runlog sync --quiet` as a detached process of its
 * own, so the delivery neither delays the command nor dies with it.
 */
import { spawn } from 'node:child_process';
import { isAlive } from '../pipeline/spool/owner.js';
import { listWals, walDir } from '../pipeline/spool/wal.js';
import { hubToken } from '../sinks/hub-http.js';
import { isRefused } from '../sinks/hub-replay.js';

/** Starts a background `runlog sync` when a dead process left a WAL here; never throws. */
export function deliverLeftoversInBackground(dataDir: string): void {
  try {
    const leftovers = listWals(walDir(dataDir)).filter((wal) => !isRefused(wal.meta) && !isAlive(wal.meta.owner));
    const cli = process.argv[1];
    if (leftovers.length === 0 || cli === undefined) return;
    // the token as this command has it (given by --token, the child would not see it)
    const token = hubToken();
    const env = token === undefined ? process.env : { ...process.env, RUNLOG_TOKEN: token };
    const child = spawn(process.execPath, [cli, 'sync', '--quiet', '--data', dataDir], { detached: true, stdio: 'ignore', env });
    child.on('error', () => {});
    child.unref();
  } catch {
    // `runlog sync` does it by hand
  }
}
