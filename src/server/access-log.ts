/**
 * The access log: one line per request, written when its response closes:
 *   2026-11-30T21:50:00.123Z GET /api/runs/:id 200 1.4ms token=ci
 * The route is the pattern, not the URL (ids and query strings stay out of the log); a request no
 * route matched shows its first path segment only (`/api/…`: the rest may be anything, a token
 * pasted in the wrong place included), and not even that when it is long or holds a token (`/…`). One field each, so that splitting on spaces finds them. The token's name (never the token) when the request carried one.
 *
 * Why the raw response's `close`, not Fastify's onResponse: a live stream (SSE) takes the response
 * over and ends when its client goes away, which onResponse never sees; `close` comes once for
 * every response, finished or cut, so each request is one line, with the time it stayed open.
 * A response closed before its head was written is the client's doing: status 499, as nginx logs it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type AccessLogWriter = (line: string) => void;

export function accessLogLine(request: FastifyRequest, reply: FastifyReply, now = new Date()): string {
  const route = request.routeOptions.url ?? unmatched(request.url);
  const ms = reply.elapsedTime.toFixed(1);
  const token = (request as FastifyRequest & { auth?: { tokenName?: unknown } | null }).auth?.tokenName;
  // one field, one line, whatever the name holds
  const who = typeof token === 'string' && token !== '' ? ` token=${token.replace(/[\s\p{Cc}]/gu, '_')}` : '';
  // the status written, also by a live stream that wrote its head on the raw response itself
  const status = reply.raw.headersSent ? reply.raw.statusCode : CLIENT_CLOSED;
  return `${now.toISOString()} ${request.method} ${route} ${status} ${ms}ms${who}`;
}

/**
 * nginx's 499: the client closed the connection before any answer was written (a long wait
 * given up, an upload cut). `statusCode` would say 200, the default of an answer never sent.
 */
const CLIENT_CLOSED = 499;

/** Before any other onRequest hook: a request refused there (401, 403) is logged too. */
export function addAccessLog(app: FastifyInstance, write: AccessLogWriter): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => write(accessLogLine(request, reply)));
  });
}

export const stderrAccessLog: AccessLogWriter = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * A first segment shown as it is: short, and no token in it. A token pasted as the path
 * (`curl hub/rl_…`, 46 characters) was written whole into the log.
 */
const SHOWN_SEGMENT = /^\/[^/]{0,32}(?=\/|$)/;
const TOKEN_MARK = /rl_/i; // every token starts so (auth/tokens.ts), also after "Bearer%20"

/** A path no route matched, as the log shows it: its first segment (unless it may be a secret), the rest elided; one field. */
function unmatched(url: string): string {
  const path = url.split('?')[0] ?? '';
  const segment = SHOWN_SEGMENT.exec(path)?.[0];
  if (segment === undefined || TOKEN_MARK.test(segment)) return '/…';
  const first = segment.replace(/[\s\p{Cc}]/gu, '_');
  return path.length > segment.length ? `${first}/…` : first;
}
