/** `runlog cancel RUN`, `runlog rm RUN`, `runlog rerun RUN`: a run's control, through the hub (docs/api.md). */
import { terminalJson } from '../../core/terminal.js';
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { databaseFile } from '../../core/config.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import type { Run } from '../../store/store.js';
import { checkRunId, UsageError } from '../args.js';
import { findHub, hubCall } from '../hub-client.js';
import { waitAndReport, waitSeconds } from './submit.js';

interface ControlFlags {
  hub?: string;
  data: string;
  json?: boolean;
}

async function needHub(flags: ControlFlags, command: string, why: string): Promise<string> {
  const hub = await findHub(flags.hub, true);
  if (hub === undefined) throw new UsageError(`${command} needs a hub (--hub URL or RUNLOG_HUB): ${why}`);
  return hub;
}

/** Who cancels, as the run will say: `cancelled by alice@gpu-3`. */
function me(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container): the host alone still helps
  }
  return `${user}@${hostname()}`;
}

export async function cancelCommand(id: string, flags: ControlFlags): Promise<void> {
  checkRunId(id, 'RUN');
  const hub = await needHub(flags, 'cancel', "a run's runner or worker learns of the cancel from the hub");
  const { body: run } = await hubCall<Run>(hub, 'POST', `/api/runs/${encodeURIComponent(id)}/cancel`, { by: me() });
  if (flags.json) process.stdout.write(`${terminalJson(run)}\n`);
  else if (run.status === 'cancelled') process.stdout.write(`${id}: cancelled\n`);
  else process.stdout.write(`${id}: cancel requested; its runner stops the command at its next lease renewal (within ${run.lease_s ?? '?'}s)\n`);
}

export async function rmCommand(id: string, flags: ControlFlags): Promise<void> {
  checkRunId(id, 'RUN');
  if (flags.hub === 'none') {
    // the local store, as `runlog run --hub none` wrote it; none there: nothing to delete, and
    // nothing made (a typo of --data made an empty store before saying "not found")
    const file = databaseFile(flags.data);
    if (!existsSync(file)) throw new Error(`run ${id} not found: no runlog store at ${file}`);
    const store = new SqliteStore(file);
    try {
      const outcome = await store.deleteRun(id);
      if (outcome === 'missing') throw new Error(`run ${id} not found in ${file}`);
      if (outcome === 'active') throw new Error(`run ${id} is queued or running: cancel it first`);
    } finally {
      await store.close();
    }
  } else {
    const hub = await needHub(flags, 'rm', 'or --hub none to delete from the local store');
    await hubCall(hub, 'DELETE', `/api/runs/${encodeURIComponent(id)}`);
  }
  process.stdout.write(`${id}: deleted\n`);
}

export async function rerunCommand(id: string, flags: ControlFlags & { wait?: string | boolean }): Promise<void> {
  checkRunId(id, 'RUN');
  const hub = await needHub(flags, 'rerun', 'workers claim the new run from it');
  if (flags.wait !== undefined && flags.wait !== false) waitSeconds(flags.wait);
  const { body: run } = await hubCall<Run>(hub, 'POST', `/api/runs/${encodeURIComponent(id)}/rerun`, {});
  if (flags.wait === undefined || flags.wait === false) {
    process.stdout.write(flags.json ? `${terminalJson(run)}\n` : `${run.id}\n`);
    return;
  }
  await waitAndReport(hub, run.id, flags.wait, flags.json);
}
