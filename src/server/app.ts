/**
 * buildApp: the hub as a Fastify instance, built without listening, so tests can inject
 * requests; listen.ts binds the port.
 */
import { join } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { RunlogError } from '../core/errors.js';
import type { HubContext, RouteContext } from './context.js';
import { StorageHealth } from './storage.js';
import { TokenCache } from './auth/cache.js';
import { installGuard } from './auth/guard.js';
import { allowedHostNames, isLoopbackHost } from './auth/hosts.js';
import { SecretBox } from './auth/secrets.js';
import { sessionRoutes } from './routes/session.js';
import { tokenRoutes } from './routes/tokens.js';
import { healthRoutes } from './routes/health.js';
import { logRoutes } from './routes/logs.js';
import { runRoutes } from './routes/runs.js';
import { controlRoutes } from './routes/control.js';
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

export function buildApp(hub: HubContext, options: AppOptions = {}): FastifyInstance {
  const context: RouteContext = {
    ...hub,
    tokens: hub.tokens ?? new TokenCache(hub.store),
    secrets: hub.secrets ?? new SecretBox(hub.config.secretFile ?? join(hub.config.dataDir, 'secret.key')),
    audit: hub.audit ?? (() => {}),
    storage: hub.storage ?? new StorageHealth(),
  };
  const { storage } = context;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: context.config.bodyLimit,
    forceCloseConnections: true, // SSE streams never end by themselves: close them on shutdown
    routerOptions: { maxParamLength: 512 }, // long ids reach our own check, which names the field
  });

  app.setErrorHandler((error: FastifyError | RunlogError, request, reply) => {
    const full = storage.check(error);
    if (full !== undefined) request.log.warn(full.message);
    if (full !== undefined) error = full;
    if (error instanceof RunlogError) {
      return reply.code(error.statusCode).send({ error: error.code, message: error.message, field: error.field });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error(error);
    // Fastify's own 4xx (malformed JSON, body too large, bad content type) keep their message
    return reply.code(status).send({ error: error.code ?? 'INTERNAL', message: status >= 500 ? 'internal error' : error.message });
  });

  // a write that went through: the store has room again
  app.addHook('onResponse', async (request, reply) => {
    if (storage.fullError !== null && request.method !== 'GET' && reply.statusCode < 400) storage.writeSucceeded();
  });

  installGuard(app, {
    store: context.store,
    tokens: context.tokens,
    hosts: allowedHostNames(context.config.host, context.config.publicUrls),
    exposed: !isLoopbackHost(context.config.host),
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  healthRoutes(app, context);
  runRoutes(app, context);
  controlRoutes(app, context);
  logRoutes(app, context);
  searchRoutes(app, context);
  streamRoutes(app, context);
  taskRoutes(app, context);
  workerRoutes(app, context);
  adminRoutes(app, context);
  eventRoutes(app, context);
  tokenRoutes(app, context);
  sessionRoutes(app, context);
  void app.register(uiRoutes, { dir: context.config.uiDir });
  return app;
}
