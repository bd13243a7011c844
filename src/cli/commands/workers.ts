/** `runlog workers`: every worker, its status, GPU memory and current task. */
import { terminalJson } from '../../core/terminal.js';
import type { Worker } from '../../store/store.js';
import { hubError, hubFetch } from '../../sinks/hub-http.js';
import { findHub } from '../hub-client.js';
import { openStore } from '../../store/open.js';
import { nowMicros } from '../../core/record.js';
import { humanAge, table, terminalWidth } from '../table.js';

export async function workersCommand(flags: { json?: boolean; hub?: string; data: string; db?: string }): Promise<void> {
  const workers = await listWorkers(flags);
  if (flags.json) {
    process.stdout.write(`${terminalJson(workers)}\n`);
    return;
  }
  if (workers.length === 0) {
    process.stdout.write('no workers have sent a heartbeat yet\n');
    return;
  }
  const rows = workers.map((w) => [
    w.id,
    w.status,
    w.state,
    w.last_heartbeat_age_s === null ? 'never' : humanAge(w.last_heartbeat_age_s),
    w.vram_total_mb === null ? '-' : `${w.vram_used_mb ?? '?'}/${w.vram_total_mb} MiB`,
    String(w.gpus.length),
    w.current_task_id ?? '-',
  ]);
  // a long worker id (up to 256 characters) or task id is cut with `…` to fit a terminal; `--json` has them whole
  process.stdout.write(table(['ID', 'STATUS', 'STATE', 'HEARTBEAT', 'VRAM', 'GPUS', 'TASK'], rows, { width: terminalWidth(), shrink: [{ column: 0, min: 12 }, { column: 6, min: 12 }] }));
}

async function listWorkers(flags: { hub?: string; data: string; db?: string }): Promise<Worker[]> {
  // a database given: read it (several hubs share it), else the hub when one answers
  const hub = flags.db ? undefined : await findHub(flags.hub, true);
  if (hub !== undefined) {
    const response = await hubFetch(`${hub}/api/workers`, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(await hubError(response));
    return ((await response.json()) as { workers: Worker[] }).workers;
  }
  const store = await openStore({ db: flags.db, dataDir: flags.data, readOnly: true });
  try {
    return await store.listWorkers(nowMicros());
  } finally {
    await store.close();
  }
}
