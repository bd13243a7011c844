/** The run a hub-numbered write (OTLP, plain text, NDJSON) goes to: created when missing, refused when ended. */
import { conflict } from '../core/errors.js';
import { nowMicros } from '../core/record.js';
import { FINAL_STATUSES, type Run, type RunUpsert } from '../store/store.js';
import type { HubContext } from './context.js';

export async function openRun({ store, live }: HubContext, id: string, fields: Omit<RunUpsert, 'id'> = {}): Promise<Run> {
  const existing = await store.getRun(id);
  if (existing) {
    // an ended run is history: lines after its end would belong to no run
    if (FINAL_STATUSES.includes(existing.status)) throw conflict(`run ${id} already ended (${existing.status})`);
    return existing;
  }
  const { run, created } = await store.upsertRun({ id, status: 'running', started_at: nowMicros(), ...fields });
  if (created) live.publishRun(run);
  return run;
}
