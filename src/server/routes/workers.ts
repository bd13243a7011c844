/** Workers: heartbeats that carry their lines and GPU memory; their status; their lines (`system_logs`). */
import type { FastifyInstance } from 'fastify';
import { badRequest, notFound } from '../../core/errors.js';
import { nowMicros } from '../../core/record.js';
import { DEFAULTS } from '../../core/config.js';
import { WORKER_STATES, workerStream, type WorkerState } from '../../store/store.js';
import { parseBatch } from '../ingest.js';
import { WorkerLines } from '../worker-lines.js';
import { RUN_EVENTS } from '../../pipeline/live.js';
import { systemLogFromRecord } from '../../store/rows.js';
import { idParam, intParam, levelParam, sinceParam, textParam, workerFilterParam, workerIdParam, workerLineParam, type Query } from '../params.js';
import { objectBody } from './runs.js';
import type { HubContext } from '../context.js';
import { LIMITS } from '../../core/limits.js';
import { boundedObject, intervalField } from '../fields.js';
import { assertActsFor } from '../auth/guard.js';

export function workerRoutes(app: FastifyInstance, { store, live, config }: HubContext): void {
  const workerLines = new WorkerLines(store);

  app.post('/api/workers/:id/heartbeat', { config: { scope: 'worker' } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    assertActsFor(request.auth, id);
    const body = objectBody(request.body);
    const state = (body.status ?? 'idle') as WorkerState;
    if (!WORKER_STATES.includes(state)) throw badRequest('status', `expected one of ${WORKER_STATES.join(', ')}`);
    const stream = workerStream(id);
    // the seeds' lines: no seq (the hub numbers worker lines), metadata, levelno, time.time()
    const { records } = parseBatch(stream, { logs: body.logs ?? [] }, config.maxLineBytes, { field: 'logs', seqRequired: false });
    const session = sessionField(body.session);
    const stats = body.stats === undefined || body.stats === null ? null : boundedObject(body.stats, 'stats');
    await store.recordHeartbeat({
      id,
      state,
      current_task_id: optionalId(body.current_task_id, 'current_task_id'),
      vram_total_mb: optionalNumber(body.vram_total_mb, 'vram_total_mb', LIMITS.vramMb),
      vram_used_mb: optionalNumber(body.vram_used_mb, 'vram_used_mb', LIMITS.vramMb),
      gpus: gpusField(body.gpus),
      heartbeat_interval_s: intervalField(body.heartbeat_interval_s) ?? DEFAULTS.heartbeatSeconds,
      dropped_logs: optionalCount(body.dropped_logs, 'dropped_logs') ?? 0,
      stats,
      received_at: nowMicros(),
    });
    const inserted = await workerLines.append(stream, { records, session });
    live.publishRecords(stream, inserted);
    live.publishSystemLines(inserted.map(systemLogFromRecord));
    if (live.subscriberCount(RUN_EVENTS) > 0) {
      const worker = await store.getWorker(id, nowMicros());
      if (worker) live.publishWorker(worker);
    }
    return { success: true, logs_inserted: inserted.length };
  });

  app.get('/api/workers', { config: { scope: 'read' } }, async () => ({ workers: await store.listWorkers(nowMicros()) }));

  // a worker's own token reads its own entry (`runlog worker` checks its id is not online elsewhere)
  app.get('/api/workers/:id', { config: { scope: ['read', 'worker'] } }, async (request) => {
    const id = workerIdParam((request.params as { id: string }).id);
    if (!request.auth.scopes.has('read')) assertActsFor(request.auth, id);
    const worker = await store.getWorker(id, nowMicros());
    if (!worker) throw notFound(`worker ${id}`);
    return worker;
  });

  app.get('/api/logs', { config: { scope: 'read' } }, async (request) => {
    const query = request.query as Query;
    const sourceId = workerFilterParam(query);
    const taskId = textParam(query, 'task_id');
    // only workers have lines here (an adopted database's other rows, an orchestrator's say, are not runlog's)
    const sourceType = textParam(query, 'source_type') ?? 'worker';
    if (sourceType !== 'worker') return { logs: [] };
    const logs = await store.querySystemLogs({
      source_type: 'worker',
      source_id: sourceId,
      task_id: taskId === undefined ? undefined : idParam(taskId, 'task_id'),
      level: levelParam(query),
      since: sinceParam(query),
      until: sinceParam(query, 'until'),
      q: textParam(query, 'q'),
      limit: intParam(query, 'limit', 1, 10_000),
      before: workerLineParam(query, 'before'),
    });
    return { logs };
  });
}

/** A heartbeat's `session`: which life of the worker sent it (a short opaque string). */
function sessionField(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(value)) throw badRequest('session', 'expected 1 to 128 printable ASCII characters, or null');
  return value;
}

function optionalNumber(value: unknown, field: string, max: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) throw badRequest(field, `expected a number from 0 to ${max}, or null`);
  return value;
}

/** A count: an integer (a BIGINT column in PostgreSQL, where 2.5 answered 500), 0 to 2^53 − 1. */
function optionalCount(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw badRequest(field, `expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}, or null`);
  return value as number;
}

function optionalId(value: unknown, field: string): string | null {
  return value === undefined || value === null || value === '' ? null : idParam(value, field);
}

function gpusField(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > LIMITS.gpus) throw badRequest('gpus', `expected an array of at most ${LIMITS.gpus} GPUs`);
  value.forEach((gpu, index) => boundedObject(gpu, `gpus[${index}]`, { depth: LIMITS.jsonDepth, bytes: LIMITS.gpuBytes }));
  return value;
}
