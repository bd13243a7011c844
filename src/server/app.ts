/**
 * buildApp: the hub as a Fastify instance, built without listening, so tests can inject
 * requests; listen.ts binds the port. Every route lives under `config.basePath` (`/runlog` behind
 * a reverse proxy; '' by default), the web UI included.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { RunlogError } from '../core/errors.js';
import { addAccessLog, stderrAccessLog, type AccessLogWriter } from './access-log.js';
import { clientErrorAnswerer } from './client-error.js';
import type { HubContext, RouteContext } from './context.js';
import { jsonBodies } from './json-body.js';
import { HubMetrics } from './metrics.js';
import { StreamNumbering } from './numbering.js';
import { StorageHealth } from './storage.js';
import { storeUnavailable } from './reachable.js';
import { TokenCache } from './auth/cache.js';
import { installGuard, SECURITY_HEADERS } from './auth/guard.js';
import { allowedHostNames, isLoopbackHost } from './auth/hosts.js';
import { SecretBox, secretKeyFile } from './auth/secrets.js';
import { sessionRoutes } from './routes/session.js';
import { tokenRoutes } from './routes/tokens.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes, logRoutes } from './routes/logs.js';
import { metricsRoutes } from './routes/metrics.js';
import { otlpRoutes } from './routes/otlp.js';
import { runRoutes } from './routes/runs.js';
import { controlRoutes } from './routes/control.js';
import { searchRoutes } from './routes/search.js';
import { streamRoutes } from './routes/stream.js';
import { taskRoutes } from './routes/tasks.js';
import { textRoutes } from './routes/text.js';
import { workerRoutes } from './routes/workers.js';
import { adminRoutes } from './routes/admin.js';
import { eventRoutes } from './routes/events.js';
import { uiRoutes } from './routes/ui.js';

export interface AppOptions {
  logger?: boolean | { level: string };
  /** where the hub says what went wrong on its side (a 500, a full disk); default: stderr, `runlog: …` */
  warn?: (message: string) => void;
  /** where access log lines go when config.accessLog is on (default: stderr) */
  accessLog?: AccessLogWriter;
}

export function buildApp(hub: HubContext, options: AppOptions = {}): FastifyInstance {
  const { config } = hub;
  const warn = options.warn ?? warnOnStderr;
  const metrics = new HubMetrics(hub.store, hub.live);
  const context: RouteContext = {
    ...hub,
    // every route's appends are timed and counted (metrics.ts)
    store: metrics.meter(hub.store),
    tokens: hub.tokens ?? new TokenCache(hub.store),
    secrets: hub.secrets ?? new SecretBox(secretKeyFile(config)),
    audit: hub.audit ?? (() => {}),
    storage: hub.storage ?? new StorageHealth(),
  };
  const numbering = new StreamNumbering(context.store);
  const { storage } = context;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true, // SSE streams never end by themselves: close them on shutdown
    // a request HTTP itself refuses, answered in the API's error shape (and logged)
    clientErrorHandler: clientErrorAnswerer(config.accessLog ? (options.accessLog ?? stderrAccessLog) : undefined),
    // a path the router cannot decode (`/api/runs/%ED%A0%80`: not UTF-8) or a parameter past
    // maxParamLength: answered before any hook, so Fastify's own shape went out, without the
    // security headers and echoing the path (which may hold a pasted token)
    frameworkErrors: (error, _request, frameworkReply) => {
      const reply = frameworkReply as unknown as FastifyReply;
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const message = tooLong ? 'a path segment is longer than 512 characters' : error.code === 'FST_ERR_BAD_URL' ? 'the path holds a percent-encoding that is not UTF-8' : 'the request cannot be routed';
      void reply.code(tooLong ? 414 : 400).send({ error: tooLong ? 'URI_TOO_LONG' : 'BAD_REQUEST', message, field: 'url' });
    },
    routerOptions: {
      maxParamLength: 512, // long ids reach our own check, which names the field
      // `/runlog//` served the UI, whose relative API calls (`/runlog//api/runs`) then found no route
      ignoreDuplicateSlashes: true,
    },
  });

  app.setErrorHandler((error: FastifyError | RunlogError, request, reply) => {
    const full = storage.check(error);
    if (full !== undefined) warn(full.message);
    if (full !== undefined) error = full;
    const down = storeUnavailable(error);
    if (full !== undefined || down !== undefined) storage.noteTrouble();
    if (down !== undefined) {
      warn(`${down.message} (${request.method} ${request.routeOptions.url ?? '(no route)'})`);
      error = down;
    }
    if (error instanceof RunlogError) {
      return reply.code(error.statusCode).send({ error: error.code, message: error.message, field: error.field });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      // the operator's only trace of it (the answer says no more than "internal error"): the route
      // pattern, never the URL (it may hold a token), and the error's own message
      warn(`internal error on ${request.method} ${request.routeOptions.url ?? '(no route)'}: ${oneLine(error)}`);
      return reply.code(status).send({ error: 'INTERNAL', message: 'internal error' });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      // runlog's own code, like every other error's: Fastify's is its internals' name
      const type = request.headers['content-type'] ?? '(none)';
      // the route's pattern without the base path (`/runlog/v1/logs` is `/v1/logs`'s)
      const route = (request.routeOptions.url ?? '').slice(config.basePath.length);
      const accepted = ACCEPTED_TYPES[route] ?? 'application/json';
      return reply.code(415).send({ error: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type', message: `Content-Type ${type.slice(0, 100)} is not taken here: send ${accepted}` });
    }
    // Fastify's own 4xx (body too large, a bad Content-Length) keep their message, under runlog's codes
    const known = FASTIFY_CODES[error.code ?? ''];
    return reply.code(status).send({ error: known?.code ?? CODE_BY_STATUS[status] ?? 'BAD_REQUEST', message: error.message, field: known?.field });
  });

  // first: its hook runs before the guard's, so a refused request is logged too
  if (config.accessLog) addAccessLog(app, options.accessLog ?? stderrAccessLog);

  // a write that went through: the store has room again
  app.addHook('onResponse', async (request, reply) => {
    if (storage.fullError !== null && request.method !== 'GET' && reply.statusCode < 400) storage.writeSucceeded();
  });

  installGuard(app, {
    store: context.store,
    tokens: context.tokens,
    hosts: allowedHostNames(context.config.host, context.config.publicUrls),
    exposed: !isLoopbackHost(context.config.host),
    publicOrigins: new Set(context.config.publicUrls.map((url) => new URL(url).origin.toLowerCase())),
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  const routes = async (scope: FastifyInstance) => {
    jsonBodies(scope);
    healthRoutes(scope, context);
    metricsRoutes(scope, metrics);
    runRoutes(scope, context);
    controlRoutes(scope, context);
    logRoutes(scope, context);
    searchRoutes(scope, context);
    streamRoutes(scope, context);
    taskRoutes(scope, context);
    workerRoutes(scope, context);
    adminRoutes(scope, context);
    eventRoutes(scope, context);
    tokenRoutes(scope, context);
    sessionRoutes(scope, context);
    // their own content-type parsers (a batch read in pieces, raw bytes, streamed text), kept to their own routes
    await scope.register(ingestRoutes, { context });
    await scope.register(otlpRoutes, { context, numbering });
    await scope.register(textRoutes, { context, numbering });
    await scope.register(uiRoutes, { dir: config.uiDir });
  };
  if (config.basePath === '') {
    void app.register(routes);
  } else {
    void app.register(routes, { prefix: config.basePath });
    // `/runlog?x` → `runlog/?x` (relative: right behind any proxy), so the UI's relative URLs resolve
    // under it. The location starts with the path's own last segment, never `/`, so no request can
    // make it name another host; the query is re-encoded by URL (a raw byte may not go in a header).
    const last = config.basePath.slice(config.basePath.lastIndexOf('/') + 1);
    app.get(config.basePath, { config: { scope: 'public' } }, async (request, reply) => {
      // `//runlog` reaches this route too (duplicate slashes are ignored): a path that starts with
      // `//` is never redirected, so no Location can be read as another host's
      if (request.url.startsWith('//')) return reply.callNotFound();
      return reply.redirect(`${last}/${new URL(request.url, 'http://hub').search}`);
    });
  }
  return app;
}

/** An error as one line for the log: its code (a database's, a system call's) and message. */
function oneLine(error: Error & { code?: string }): string {
  return `${error.code === undefined ? '' : `${error.code} `}${error.message}`.replace(/\s+/g, ' ').slice(0, 500);
}

/** What a route whose body is not JSON takes (the answer to a wrong Content-Type says it). */
const ACCEPTED_TYPES: Record<string, string> = {
  '/api/runs/:id/text': 'text/plain (a log file) or application/x-ndjson (a record a line)',
  '/v1/logs': 'application/json or application/x-protobuf (OTLP/HTTP)',
};

/** A hub's own trouble, one plain line on stderr (never the request's URL: it may hold a token). */
export function warnOnStderr(message: string): void {
  process.stderr.write(`runlog: ${message}\n`);
}

/** Fastify's 4xx codes are its internals' names: a client gets runlog's, and the field when there is one. */
const FASTIFY_CODES: Record<string, { code: string; field?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', field: 'content-length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BAD_REQUEST', field: 'body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BAD_REQUEST', field: 'body' },
};
// 403: the UI's file server refusing a path out of its folder (`/..%2f..%2fetc/passwd`) said BAD_REQUEST
const CODE_BY_STATUS: Record<number, string> = { 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };
