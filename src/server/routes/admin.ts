/** Retention on demand: `runlog cleanup` asks the hub to apply it now. */
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../core/errors.js';
import { parseDuration } from '../../core/time.js';
import { deleteOlderThan } from '../housekeeping.js';
import { objectBody } from './runs.js';
import type { RouteContext } from '../context.js';

export function adminRoutes(app: FastifyInstance, { store, audit, storage }: RouteContext): void {
  app.post('/api/cleanup', { config: { scope: 'admin' } }, async (request) => {
    const body = objectBody(request.body);
    const olderThan = durationField(body.older_than ?? '48h', 'older_than');
    const runsOlderThan = body.runs_older_than === undefined || body.runs_older_than === null ? 0 : durationField(body.runs_older_than, 'runs_older_than');
    const deleted = await deleteOlderThan(store, olderThan, runsOlderThan, storage.reserve);
    audit('cleanup', { older_than: String(body.older_than ?? '48h'), runs_older_than: body.runs_older_than === undefined ? null : String(body.runs_older_than), ...deleted, by: request.auth.tokenName ?? 'open hub' });
    return deleted;
  });
}

function durationField(value: unknown, field: string): number {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms <= 0) throw badRequest(field, 'expected a duration like 48h, 30m, 7d');
  return ms;
}
