/** Runs: create (or update), list, get, finish. */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { nowMicros } from '../../core/record.js';
import { allows } from '../../core/scopes.js';
import { assertWriter, requestWriter } from '../auth/writer.js';
import { timestampField } from '../ingest.js';
import { parseIsoMicros } from '../../core/time.js';
import { idParam, intParam, labelParams, runIdParam, statusParam, statusQueryParam, textParam, type Query } from '../params.js';
import type { HubContext } from '../context.js';
import { DEFAULTS } from '../../core/config.js';
import { leaseField } from './control.js';
import { FINAL_STATUSES, sameWriter, type RunUpsert } from '../../store/store.js';
import { LIMITS } from '../../core/limits.js';
import { boundedObject, labelsField, optionalText } from '../fields.js';

export function runRoutes(app: FastifyInstance, { store, live }: HubContext): void {
  /**
   * Creates a run and binds it to its writer, atomically: of two creators of one id exactly one
   * gets 201, the other 409. The writer's own retry (same token, same writer key) is a 200.
   */
  app.post('/api/runs', { config: { scope: ['write', 'worker'] } }, async (request, reply) => {
    const upsert = parseUpsert(request.body);
    if (upsert.status !== undefined && upsert.status !== 'running') throw badRequest('status', 'a run is created running; it ends with POST /api/runs/:id/finish');
    const writer = requestWriter(request);
    const existing = await store.getRun(upsert.id);
    if (existing) {
      const bound = await store.getRunWriter(upsert.id);
      const mine = bound !== undefined && sameWriter(bound, writer);
      // a run failed as "runner lost" whose writer is back (a retried create): a sign of life, nothing more
      if (existing.lost && mine) return (await store.renewLease(existing.id, nowMicros())) ?? existing;
      // an ended run is history: a new run under its id would mix two runs' lines
      if (FINAL_STATUSES.includes(existing.status)) throw conflict(`run ${upsert.id} already ran (${existing.status}): use another id`);
      if (!mine) throw conflict(`run ${upsert.id} already exists and is written by another process: use another id`);
    } else {
      // a worker token writes the tasks it claimed; a new run needs `write`
      if (!allows(request.auth.scopes, 'write')) throw forbidden(`creating a run needs the write scope; token "${request.auth.tokenName}" has ${[...request.auth.scopes].join(', ')}`, 'MISSING_SCOPE');
      const claim = await store.claimRunWriter(upsert.id, writer);
      if (claim === 'other') throw conflict(`run ${upsert.id} already exists and is written by another process: use another id`);
    }
    const { run, created } = await store.upsertRun({ ...upsert, lease_s: upsert.lease_s ?? DEFAULTS.leaseSeconds });
    live.publishRun(run);
    reply.code(created ? 201 : 200);
    // a retried create is a sign of life too
    return created ? run : ((await store.renewLease(run.id, nowMicros(), upsert.lease_s)) ?? run);
  });

  app.get('/api/runs', { config: { scope: 'read' } }, async (request) => {
    const query = request.query as Query;
    // given twice is "given more than once", as every other parameter says it (it said "expected one of …")
    const status = statusQueryParam(query);
    const limit = intParam(query, 'limit', 1, 10_000) ?? 100;
    const q = textParam(query, 'q');
    const labels = labelParams(query);
    return { runs: await store.listRuns({ status, limit, ...(q === undefined ? {} : { q }), ...(labels === undefined ? {} : { labels }) }) };
  });

  app.get('/api/runs/:id', { config: { scope: 'read' } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    const run = await store.getRun(id);
    if (!run) throw notFound(`run ${id}`);
    return { ...run, reruns: await store.rerunsOf(id) };
  });

  app.post('/api/runs/:id/finish', { config: { scope: ['write', 'worker'] } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    const body = objectBody(request.body);
    const status = statusParam(body.status);
    if (!FINAL_STATUSES.includes(status)) throw badRequest('status', `expected one of ${FINAL_STATUSES.join(', ')}`);
    const exitCode = body.exit_code;
    if (exitCode !== undefined && exitCode !== null && !(Number.isInteger(exitCode) && Math.abs(exitCode as number) <= LIMITS.exitCodeAbs)) {
      throw badRequest('exit_code', `expected an integer from -${LIMITS.exitCodeAbs} to ${LIMITS.exitCodeAbs}`);
    }
    const before = await store.getRun(id);
    if (!before) throw notFound(`run ${id}`);
    await assertWriter(store, request, before);
    // its first end stands, unless that was the hub's "runner lost": the writer's real end replaces it
    if (FINAL_STATUSES.includes(before.status) && !before.lost) return before;
    if (body.diagnostics !== undefined && body.diagnostics !== null) {
      const bounds = { depth: LIMITS.diagnosticsDepth, bytes: LIMITS.diagnosticsBytes };
      await store.setDiagnostics(id, boundedObject(body.diagnostics, 'diagnostics', bounds));
    }
    const run = await store.finishRun(id, {
      status,
      exit_code: (body.exit_code as number | null | undefined) ?? null,
      signal: optionalString(body.signal, 'signal', LIMITS.signalChars) ?? null,
      error_message: optionalString(body.error_message, 'error_message', LIMITS.errorMessageChars) ?? null,
      completed_at: completedAt(body.completed_at, before.started_at ?? before.created_at),
      replaceLost: before.lost,
    });
    if (!run) throw notFound(`run ${id}`);
    live.publishEnd(run);
    live.publishRun(run);
    return run;
  });
}

/**
 * When the run ended: the hub's clock when not given. An end before the run's start is taken as
 * its start: the writer's clock and the one that set started_at may differ, and a negative
 * duration helps nobody (refusing it would leave the run running until its lease fails it).
 */
function completedAt(given: unknown, startedAt: string | null): number {
  const at = given === undefined ? nowMicros() : timestampField(given, 'completed_at');
  const start = startedAt === null ? undefined : parseIsoMicros(startedAt);
  return start === undefined ? at : Math.max(at, start);
}

export function parseUpsert(body: unknown): RunUpsert {
  const raw = objectBody(body);
  const upsert: RunUpsert = { id: raw.id === undefined ? newRunId() : runIdParam(raw.id) };
  if (raw.name !== undefined) upsert.name = optionalText(raw.name, 'name', LIMITS.nameBytes) ?? null;
  if (raw.command !== undefined) upsert.command = optionalText(raw.command, 'command', LIMITS.commandBytes) ?? null;
  if (raw.status !== undefined) upsert.status = statusParam(raw.status);
  if (raw.started_at !== undefined) upsert.started_at = timestampField(raw.started_at, 'started_at');
  if (raw.log_path !== undefined) upsert.log_path = optionalText(raw.log_path, 'log_path', LIMITS.logPathBytes) ?? null;
  if (raw.worker_id !== undefined) upsert.worker_id = raw.worker_id === null ? null : idParam(raw.worker_id, 'worker_id');
  if (raw.task_id !== undefined) upsert.task_id = raw.task_id === null ? null : idParam(raw.task_id, 'task_id');
  if (raw.labels !== undefined) upsert.labels = labelsField(raw.labels);
  const leaseS = leaseField(raw.lease_s);
  if (leaseS !== undefined) upsert.lease_s = leaseS;
  return upsert;
}

export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('body', 'expected a JSON object');
  return body as Record<string, unknown>;
}

function optionalString(value: unknown, field: string, maxLength: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(field, 'expected a string');
  if (value.length > maxLength) throw badRequest(field, `longer than ${maxLength} characters`);
  return value;
}

/** A run id that sorts by creation time: `r-<ms base36>-<random>`. */
export function newRunId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
