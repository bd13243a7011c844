/**
 * A run's control: its writer's lease, cancel, delete, re-run (issue 9, docs/api.md).
 *
 * A lease is how the hub knows a run's writer is alive: the writer renews it every lease_s (lines
 * count too); housekeeping fails a run silent for LEASE_MISSES leases ("runner lost") and marks
 * it lost, so a writer that was only cut off may still deliver its lines and its real end. A
 * cancel request travels back to the writer in the answer to its next renewal; a run with no live
 * writer to hear it (no lease, or expired) is ended at once.
 */
import type { FastifyInstance } from 'fastify';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { LEASE_MISSES } from '../../core/config.js';
import { microsToIso, nowMicros } from '../../core/record.js';
import { parseIsoMicros } from '../../core/time.js';
import { FINAL_STATUSES, type Run } from '../../store/store.js';
import type { LiveFanout } from '../../pipeline/live.js';
import { idParam } from '../params.js';
import type { RouteContext } from '../context.js';
import { assertWriter } from '../auth/writer.js';
import { newRunId, objectBody } from './runs.js';

export interface LeaseAnswer {
  lease_s: number;
  /** when the hub fails the run if it hears nothing more */
  expires_at: string;
  cancel: { by: string; at: string } | null;
  /** the run's highest stored seq: a writer that resumes (a restarted follower) numbers on after it */
  last_seq: number;
}

export function controlRoutes(app: FastifyInstance, { store, live, audit }: RouteContext): void {
  app.post('/api/runs/:id/lease', { config: { scope: ['write', 'worker'] } }, async (request): Promise<LeaseAnswer> => {
    const id = idParam((request.params as { id: string }).id);
    const leaseS = leaseField(objectBody(request.body).lease_s);
    const before = await store.getRun(id);
    if (!before) throw notFound(`run ${id}`);
    await assertWriter(store, request, before);
    // an ended run has no lease, but a lost one's writer may come back, and a cancelled one's must hear it
    if (FINAL_STATUSES.includes(before.status) && !before.lost && before.cancel_requested_by === null) {
      throw conflict(`run ${id} has ended (${before.status})`);
    }
    const run = (await store.renewLease(id, nowMicros(), leaseS)) ?? before;
    return leaseAnswer(run, await store.lastSeq(id));
  });

  app.post('/api/runs/:id/cancel', { config: { scope: ['submit', 'write', 'admin'] } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    const by = cancelledBy(objectBody(request.body), request.auth.tokenName);
    const before = await store.getRun(id);
    if (!before) throw notFound(`run ${id}`);
    if (FINAL_STATUSES.includes(before.status)) throw conflict(`run ${id} has ended (${before.status}): nothing to cancel`);
    const now = nowMicros();
    let run = (await store.requestCancel(id, by, now)) ?? before;
    if (run.status === 'running' && !hasLiveWriter(run, now)) {
      // nobody would hear the request: end it now
      run = (await store.finishRun(id, { status: 'cancelled', error_message: `cancelled by ${run.cancel_requested_by ?? by}`, completed_at: now })) ?? run;
    }
    publishChange(live, run);
    audit('run.cancel', { run: id, status: run.status, by });
    return run;
  });

  app.delete('/api/runs/:id', { config: { scope: 'admin' } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    const outcome = await store.deleteRun(id);
    if (outcome === 'missing') throw notFound(`run ${id}`);
    if (outcome === 'active') throw conflict(`run ${id} is queued or running: cancel it first`);
    live.publishRunDeleted(id);
    audit('run.delete', { run: id, by: request.auth.tokenName ?? 'open hub' });
    return { deleted: id };
  });

  app.post('/api/runs/:id/rerun', { config: { scope: 'submit' } }, async (request, reply) => {
    const id = idParam((request.params as { id: string }).id);
    const run = await store.getRun(id);
    if (!run) throw notFound(`run ${id}`);
    const spec = await store.getSpec(id);
    if (!spec) throw conflict(`run ${id} is not a task: only a task's spec can be queued again`);
    if (!FINAL_STATUSES.includes(run.status)) throw conflict(`run ${id} is still ${run.status}`);
    const rerun = await store.createTask(
      { id: newRunId(), name: run.name, command: run.command, labels: run.labels, rerun_of: id },
      spec,
    );
    live.publishRun(rerun);
    audit('task.rerun', { run: rerun.id, rerun_of: id, command: run.command?.slice(0, 200), by: request.auth.tokenName ?? 'open hub' });
    reply.code(201);
    return rerun;
  });
}

export function leaseAnswer(run: Run, lastSeq: number): LeaseAnswer {
  const leaseS = run.lease_s ?? 0;
  const heard = parseIsoMicros(run.last_heard_at ?? '') ?? nowMicros();
  return {
    lease_s: leaseS,
    expires_at: microsToIso(heard + LEASE_MISSES * leaseS * 1e6),
    cancel: run.cancel_requested_by === null ? null : { by: run.cancel_requested_by, at: run.cancel_requested_at ?? microsToIso(nowMicros()) },
    last_seq: lastSeq,
  };
}

/** A writer that can still hear a cancel request: it has a lease, and renewed it in time. */
function hasLiveWriter(run: Run, now: number): boolean {
  if (run.lease_s === null || run.lost) return false;
  const heard = parseIsoMicros(run.last_heard_at ?? '') ?? 0;
  return heard + LEASE_MISSES * run.lease_s * 1e6 >= now;
}

/**
 * Who asks, as the run will say: the token's name (which cannot be made up), with the body's `by`
 * (user@host from the CLI, "web UI") beside it; on a hub without tokens, `by` alone.
 */
function cancelledBy(body: Record<string, unknown>, tokenName: string | null): string {
  const by = body.by;
  if (by !== undefined && by !== null && (typeof by !== 'string' || by.trim() === '' || by.length > LIMITS.cancelByChars)) {
    throw badRequest('by', `expected a name of 1-${LIMITS.cancelByChars} characters`);
  }
  // the run's writer prints who cancelled on its user's terminal (`runlog run`, the worker): a name
  // with an escape sequence in it wrote that terminal's clipboard or title, from another token
  if (typeof by === 'string' && CONTROL_OR_BIDI.test(by)) throw badRequest('by', 'expected a name without control characters');
  const said = typeof by === 'string' ? by.trim() : undefined;
  if (tokenName === null) return said ?? 'api';
  return said === undefined ? tokenName : `${tokenName} (${said})`;
}

/** C0 and C1 controls, DEL, and the bidi controls that reorder text */
const CONTROL_OR_BIDI = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/** `lease_s` of a body: 1-3600 s (LIMITS.leaseS), or undefined when absent. */
export function leaseField(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const { min, max } = LIMITS.leaseS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw badRequest('lease_s', `expected an integer from ${min} to ${max} (seconds)`);
  return value;
}

/** The run changed: the runs page hears it; an end also goes to the run's own viewers. */
export function publishChange(live: LiveFanout, run: Run): void {
  if (FINAL_STATUSES.includes(run.status)) live.publishEnd(run);
  live.publishRun(run);
}
