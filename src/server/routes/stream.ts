/**
 * The live stream of a run's lines, as server-sent events (docs/sse.md).
 *
 * First the backlog from the store (the last lines, or everything after Last-Event-ID), then
 * live. The subscription starts before the backlog is read and buffers meanwhile; events are then
 * sent only when their seq is past the last one sent, so there is no gap and no duplicate between
 * the two (see ../sse.ts for the client's own bound). With `?batch=1` lines go as `logs` events,
 * arrays of records: the web UI's form, one event per commit rather than per line.
 */
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/errors.js';
import { sseFrame } from '../../core/sse.js';
import { LIMITS } from '../../core/limits.js';
import { openSse, resumePoint, sendBacklog } from '../sse.js';
import { FINAL_STATUSES } from '../../store/store.js';
import { boolParam, idParam, intParam, levelParam, type Query } from '../params.js';
import type { HubContext } from '../context.js';

const BACKLOG_PAGE = 1000;

export function streamRoutes(app: FastifyInstance, { store, live, config }: HubContext): void {
  app.get('/api/runs/:id/logs/stream', { config: { scope: 'read' } }, async (request, reply) => {
    const id = idParam((request.params as { id: string }).id);
    const query = request.query as Query;
    const resumeFrom = resumePoint(request);
    const tail = intParam(query, 'tail', 0, LIMITS.tailLines) ?? config.sseBacklog;
    const batched = boolParam(query, 'batch');
    // that level and above, as GET /api/runs/:id/logs: the tail is the last lines at that level
    const minLevel = levelParam(query);
    if (!(await store.getRun(id))) throw notFound(`run ${id}`);

    const stream = openSse(reply, live, id, config, { lastSent: resumeFrom ?? 0, batched, minLevel });

    try {
      if (resumeFrom === undefined) {
        // with a level the tail may end before the run's last line; the stream stands at that line
        // all the same (read first: a line committed after it is in the tail or in the buffer), or
        // the change watcher would read the run again from the last line at the level
        const last = minLevel === undefined ? 0 : await store.lastSeq(id);
        const page = await store.queryLogs(id, { tail, level: minLevel });
        stream.sendRecords(page.records);
        stream.lastSent = Math.max(stream.lastSent, last);
      } else if (!(await sendBacklog(stream, BACKLOG_PAGE, (after) => store.readLogs(id, after, BACKLOG_PAGE), (page) => stream.sendRecords(page)))) {
        return; // everything after the client's last id first; the client went meanwhile
      }
      const run = await store.getRun(id);
      stream.goLive();
      if (run && FINAL_STATUSES.includes(run.status)) stream.end(sseFrame('end', run));
    } catch (error) {
      request.log.error(error, 'sse backlog failed');
      stream.close();
    }
  });
}

