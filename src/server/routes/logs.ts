/** A run's lines: ingest (idempotent by seq), query, download. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import { assertWriter } from '../auth/writer.js';
import { FINAL_STATUSES } from '../../store/store.js';
import { nowMicros, toWire } from '../../core/record.js';
import { formatLogFileLine } from '../../core/format.js';
import { parseBatch } from '../ingest.js';
import { parseBatchBody } from '../batch-body.js';
import { assertUncompressed, jsonBytes, jsonObject, parseJsonValue } from '../json-body.js';
import { parseIsoMicros } from '../../core/time.js';
import { LIMITS } from '../../core/limits.js';
import { idParam, intParam, levelParam, sinceParam, textParam, type Query } from '../params.js';
import type { HubContext } from '../context.js';
import type { Store } from '../../store/store.js';

const DOWNLOAD_PAGE = 5000;
const LEASE_RENEW_GAP_US = 1_000_000;

/**
 * POST /api/runs/:id/logs, in a plugin of its own: its JSON parser reads a runner's big batch
 * without making one string of it (batch-body.ts); every other route keeps the app's.
 */
export async function ingestRoutes(app: FastifyInstance, { context }: { context: HubContext }): Promise<void> {
  const { store, live, config } = context;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      assertUncompressed(request);
      // the same checks as every JSON route (json-body.ts); a group that fails them is parsed again
      // whole, so an error names its place in the whole body
      done(null, jsonObject(parseBatchBody(jsonBytes(request, body as Buffer), parseJsonValue)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.post('/api/runs/:id/logs', { config: { scope: ['write', 'worker'] } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    const batch = parseBatch(id, request.body, config.maxLineBytes);
    const run = await store.getRun(id);
    if (!run) throw notFound(`run ${id}`, 'create it with POST /api/runs first');
    // an ended run takes no line from anyone: said before the writer check, as the text, NDJSON and
    // OTLP routes do (open-run.ts), so a client learns that retrying as another writer is no use
    // (it answered 403 NOT_THE_WRITER here, 409 there). A run the hub failed as "runner lost"
    // still takes its writer's lines (PROTOCOL.md)
    if (FINAL_STATUSES.includes(run.status) && !run.lost) throw conflict(`run ${id} has ended (${run.status}): it takes no more lines`);
    await assertWriter(store, request, run);
    const inserted = await store.appendRecords(id, batch.records);
    // lines are a sign of life: the writer's lease is renewed (at most once a second: a write of its own)
    const now = nowMicros();
    if (run.lease_s !== null && (run.status === 'running' || run.lost) && now - (parseIsoMicros(run.last_heard_at ?? '') ?? 0) > LEASE_RENEW_GAP_US) {
      await store.renewLease(id, now);
    }
    // publish after commit: a live viewer must never see a line that could still be lost
    live.publishRecords(id, inserted);
    live.publishProgress(id, batch.progress);
    return { inserted: inserted.length, received: batch.records.length };
  });

}

export function logRoutes(app: FastifyInstance, { store }: HubContext): void {
  app.get('/api/runs/:id/logs', { config: { scope: 'read' } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    const query = request.query as Query;
    const logQuery = {
      tail: intParam(query, 'tail', 0, LIMITS.tailLines),
      limit: intParam(query, 'limit', 0, LIMITS.tailLines),
      since: sinceParam(query),
      until: sinceParam(query, 'until'),
      after: intParam(query, 'after', 0),
      before: intParam(query, 'before', 0),
      level: levelParam(query),
      q: textParam(query, 'q'),
    };
    // each picks an end of the run: with both, one silently won (limit), and a client asking for
    // the last lines got the first ones
    if (logQuery.tail !== undefined && logQuery.limit !== undefined) {
      throw badRequest('limit', 'give tail (the last N lines) or limit (the first N, paged with after), not both');
    }
    if (!(await store.getRun(id))) throw notFound(`run ${id}`);
    const page = await store.queryLogs(id, logQuery);
    return { run_id: id, logs: page.records.map(toWire), total_lines: page.total_lines, truncated: page.truncated };
  });

  app.get('/api/runs/:id/logs/download', { config: { scope: 'read' } }, async (request, reply) => {
    const id = idParam((request.params as { id: string }).id);
    const first = await store.readLogs(id, 0, DOWNLOAD_PAGE);
    if (first.length === 0) throw notFound(`lines of run ${id}`);
    reply
      .type('text/plain; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${id}.log"`);
    return reply.send(Readable.from(downloadPages(store, id, first)));
  });
}

/** The whole run, page by page: never built whole in memory; the stream's backpressure paces it. */
async function* downloadPages(store: Store, id: string, first: Awaited<ReturnType<Store['readLogs']>>): AsyncGenerator<string> {
  let page = first;
  while (page.length > 0) {
    let text = '';
    for (const record of page) text += formatLogFileLine(record);
    yield text;
    const last = page[page.length - 1];
    if (!last || page.length < DOWNLOAD_PAGE) return;
    page = await store.readLogs(id, last.seq, DOWNLOAD_PAGE);
  }
}
