/**
 * The run a hub-numbered write (OTLP, plain text, NDJSON) goes to: created when missing and bound
 * to the request's writer (its token, and its X-Runlog-Writer key when it sends one), as
 * POST /api/runs does; when it exists, only its writer may add to it, and not once it has ended.
 * A run made here has no lease (the hub never fails it for silence): an OpenTelemetry service or a
 * curl upload says nothing between its lines.
 */
import type { FastifyRequest } from 'fastify';
import { conflict, forbidden } from '../core/errors.js';
import { nowMicros } from '../core/record.js';
import { allows } from '../core/scopes.js';
import { FINAL_STATUSES, type Run, type RunUpsert } from '../store/store.js';
import { assertWriter, requestWriter } from './auth/writer.js';
import type { HubContext } from './context.js';

export async function openRun({ store, live }: HubContext, request: FastifyRequest, id: string, fields: Omit<RunUpsert, 'id'> = {}): Promise<Run> {
  const existing = await store.getRun(id);
  if (existing) {
    // an ended run is history: lines after its end would belong to no run, whoever sends them (said
    // before the writer check: a file uploaded to a run `runlog run` made and ended is told that, not
    // that another process writes it); but a run the hub failed as "runner lost" still takes its
    // writer's lines (PROTOCOL.md), as /logs does
    if (FINAL_STATUSES.includes(existing.status) && !existing.lost) throw conflict(`run ${id} already ended (${existing.status}): it takes no more lines`);
    await assertWriter(store, request, existing);
    // lines are a sign of life: a leased run's writer is heard
    if (existing.lease_s !== null && (existing.status === 'running' || existing.lost)) await store.renewLease(id, nowMicros());
    return existing;
  }
  if (!allows(request.auth.scopes, 'write')) throw forbidden(`creating a run needs the write scope; token "${request.auth.tokenName}" has ${[...request.auth.scopes].join(', ')}`, 'MISSING_SCOPE');
  const claim = await store.claimRunWriter(id, requestWriter(request));
  if (claim === 'other') throw conflict(`run ${id} is written by another process`);
  const { run, created } = await store.upsertRun({ id, status: 'running', started_at: nowMicros(), ...fields });
  if (created) live.publishRun(run);
  return run;
}
