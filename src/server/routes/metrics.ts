/** GET /metrics: Prometheus text format (see metrics.ts for what is counted). */
import type { FastifyInstance } from 'fastify';
import type { HubMetrics } from '../metrics.js';

export function metricsRoutes(app: FastifyInstance, metrics: HubMetrics): void {
  app.get('/metrics', { config: { scope: 'read' } }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });
}
