import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.js';

export function healthRoutes(app: FastifyInstance, { live }: HubContext): void {
  app.get('/healthz', { config: { scope: 'public' } }, async () => ({ ok: true, subscribers: live.subscriberCount() }));
}
