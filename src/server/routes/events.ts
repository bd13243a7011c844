/**
 * Live events for the UI's lists: runs as they are created, claimed and end, workers as their
 * heartbeats arrive (`/api/events`), and every worker's lines (`/api/logs/stream`). No backlog:
 * a page loads the current state with the list endpoints, then follows these.
 */
import type { FastifyInstance } from 'fastify';
import { RUN_EVENTS, SYSTEM_LINES, systemLinesOf } from '../../pipeline/live.js';
import { workerFilterParam, type Query } from '../params.js';
import { openSse } from '../sse.js';
import type { HubContext } from '../context.js';

export function eventRoutes(app: FastifyInstance, { live, config }: HubContext): void {
  app.get('/api/events', { config: { scope: 'read' } }, async (_request, reply) => {
    const stream = openSse(reply, live, RUN_EVENTS, config);
    stream.goLive();
  });

  app.get('/api/logs/stream', { config: { scope: 'read' } }, async (request, reply) => {
    const sourceId = workerFilterParam(request.query as Query);
    // one worker: its own stream; all of them: the topic every worker's lines go to
    const topic = sourceId === undefined ? SYSTEM_LINES : systemLinesOf(sourceId);
    const stream = openSse(reply, live, topic, config);
    stream.goLive();
  });
}
