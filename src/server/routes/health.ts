import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.js';

export function healthRoutes(app: FastifyInstance, { live, storage }: HubContext): void {
  app.get('/healthz', { config: { scope: 'public' } }, async (_request, reply) => {
    const fullError = storage?.fullError ?? null;
    // a full store cannot keep what it is sent: not healthy, and it says why
    if (fullError !== null) return reply.code(503).send({ ok: false, store: 'full', error: fullError, subscribers: live.subscriberCount() });
    return { ok: true, store: 'ok', subscribers: live.subscriberCount() };
  });
}
