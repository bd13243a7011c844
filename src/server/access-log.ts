/**
 * The access log: one line per request, written when the answer is sent:
 *   2026-11-30T21:50:00.123Z GET /api/runs/:id 200 1.4ms token=ci
 * The route is the pattern, not the URL (ids and query strings stay out of the log); a request no
 * route matched shows its path. The token's name (never the token) when the request carried one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type AccessLogWriter = (line: string) => void;

export function accessLogLine(request: FastifyRequest, reply: FastifyReply, now = new Date()): string {
  const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '-';
  const ms = reply.elapsedTime.toFixed(1);
  const token = (request as FastifyRequest & { auth?: { tokenName?: unknown } }).auth?.tokenName;
  // one field, one line, whatever the name holds
  const who = typeof token === 'string' && token !== '' ? ` token=${token.replace(/[\s\p{Cc}]/gu, '_')}` : '';
  return `${now.toISOString()} ${request.method} ${route} ${reply.statusCode} ${ms}ms${who}`;
}

export function addAccessLog(app: FastifyInstance, write: AccessLogWriter): void {
  app.addHook('onResponse', async (request, reply) => {
    write(accessLogLine(request, reply));
  });
}

export const stderrAccessLog: AccessLogWriter = (line) => {
  process.stderr.write(`${line}\n`);
};
