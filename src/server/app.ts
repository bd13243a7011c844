/**
 * buildApp: the hub as a Fastify instance, built without listening, so tests can inject
 * requests; listen.ts binds the port.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { RunlogError } from '../core/errors.js';
import type { HubContext } from './context.js';
import { healthRoutes } from './routes/health.js';
import { logRoutes } from './routes/logs.js';
import { runRoutes } from './routes/runs.js';
import { searchRoutes } from './routes/search.js';
import { streamRoutes } from './routes/stream.js';
import { taskRoutes } from './routes/tasks.js';
import { workerRoutes } from './routes/workers.js';
import { adminRoutes } from './routes/admin.js';
import { eventRoutes } from './routes/events.js';
import { uiRoutes } from './routes/ui.js';

export interface AppOptions {
  logger?: boolean | { level: string };
}

export function buildApp(context: HubContext, options: AppOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: context.config.bodyLimit,
    forceCloseConnections: true, // SSE streams never end by themselves: close them on shutdown
    routerOptions: { maxParamLength: 512 }, // long ids reach our own check, which names the field
  });

  app.setErrorHandler((error: FastifyError | RunlogError, request, reply) => {
    if (error instanceof RunlogError) {
      return reply.code(error.statusCode).send({ error: error.code, message: error.message, field: error.field });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error(error);
    // Fastify's own 4xx (malformed JSON, body too large, bad content type) keep their message
    return reply.code(status).send({ error: error.code ?? 'INTERNAL', message: status >= 500 ? 'internal error' : error.message });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  healthRoutes(app, context);
  runRoutes(app, context);
  logRoutes(app, context);
  searchRoutes(app, context);
  streamRoutes(app, context);
  taskRoutes(app, context);
  workerRoutes(app, context);
  adminRoutes(app, context);
  eventRoutes(app, context);
  void app.register(uiRoutes, { dir: context.config.uiDir });
  return app;
}
