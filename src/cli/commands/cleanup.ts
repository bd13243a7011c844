/** `runlog cleanup`: apply retention now, on the hub when one answers, else on the local store. */
import { deleteOlderThan, type Deleted } from '../../server/housekeeping.js';
import { openStore } from '../../store/open.js';
import { positiveDurationMs } from '../args.js';
import { findHub } from '../hub-client.js';
import { hubError, hubFetch } from '../../sinks/hub-http.js';

export async function cleanupCommand(flags: { olderThan: string; runsOlderThan?: string; hub?: string; data: string; db?: string }): Promise<void> {
  // above 0, as the hub's POST /api/cleanup says: `0s` would delete every worker line there is
  const olderThan = positiveDurationMs(flags.olderThan, '--older-than');
  const runsOlderThan = flags.runsOlderThan === undefined ? 0 : positiveDurationMs(flags.runsOlderThan, '--runs-older-than');
  const hub = flags.db ? undefined : await findHub(flags.hub, true);
  let deleted: Deleted;
  if (hub !== undefined) {
    const response = await hubFetch(`${hub}/api/cleanup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ older_than: flags.olderThan, runs_older_than: flags.runsOlderThan }),
    });
    if (!response.ok) throw new Error(await hubError(response));
    deleted = (await response.json()) as Deleted;
  } else {
    const store = await openStore({ db: flags.db, dataDir: flags.data, existing: true });
    deleted = await deleteOlderThan(store, olderThan, runsOlderThan);
    await store.close();
  }
  process.stdout.write(`deleted ${deleted.worker_lines_deleted} worker lines and ${deleted.runs_deleted} runs\n`);
}
