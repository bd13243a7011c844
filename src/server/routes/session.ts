/**
 * The web UI's session: it signs in with a token once, then holds an HttpOnly, SameSite=Strict
 * cookie (Secure when the hub is reached over https), so the token never sits in the page's
 * script and live streams (EventSource sends no headers) work. The session's id is stored hashed,
 * and acts with its token's scopes: revoking the token ends it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, forbidden, unauthorized } from '../../core/errors.js';
import { allows } from '../../core/scopes.js';
import { nowMicros } from '../../core/record.js';
import { parseIsoMicros } from '../../core/time.js';
import { cookie, SESSION_COOKIE } from '../auth/guard.js';
import { newKey, sha256 } from '../auth/tokens.js';
import { objectBody } from './runs.js';
import type { RouteContext } from '../context.js';

const SESSION_DAYS = 7;

export function sessionRoutes(app: FastifyInstance, { store, tokens, config, audit }: RouteContext): void {
  app.get('/api/session', { config: { scope: 'public' } }, async (request) => {
    const auth = request.auth;
    return {
      auth_required: auth.required,
      signed_in: auth.tokenName !== null,
      name: auth.tokenName,
      scopes: [...auth.scopes],
      worker_id: auth.workerId,
    };
  });

  app.post('/api/session', { config: { scope: 'public' } }, async (request, reply) => {
    const body = objectBody(request.body);
    if (typeof body.token !== 'string' || body.token === '') throw badRequest('token', 'expected the token to sign in with');
    const token = await tokens.lookup(sha256(body.token.trim()));
    if (token === undefined) throw unauthorized('unknown or revoked token');
    const now = nowMicros();
    const tokenEnd = token.expires_at === null ? Infinity : (parseIsoMicros(token.expires_at) ?? 0);
    if (tokenEnd <= now) throw unauthorized(`token "${token.name}" expired at ${token.expires_at}`);
    // the UI only reads (and acts through read pages): a token that cannot read would sign in to nothing
    if (!allows(new Set(token.scopes), 'read')) throw forbidden(`token "${token.name}" has no read scope (it has ${token.scopes.join(', ') || 'none'}): sign in with one that has`);
    const expiresAt = Math.min(now + SESSION_DAYS * 86_400e6, tokenEnd);
    const id = newKey() + newKey();
    await store.createSession(sha256(id), token.name, expiresAt);
    audit('session.create', { name: token.name });
    setCookie(reply, request, id, Math.floor((expiresAt - now) / 1e6), config);
    return { signed_in: true, name: token.name, scopes: token.scopes, worker_id: token.worker_id };
  });

  app.delete('/api/session', { config: { scope: 'public' } }, async (request, reply) => {
    const id = cookie(request, SESSION_COOKIE);
    if (id !== undefined) await store.deleteSession(sha256(id));
    setCookie(reply, request, '', 0, config);
    return { signed_in: false };
  });
}

function setCookie(reply: FastifyReply, request: FastifyRequest, value: string, maxAgeS: number, config: RouteContext['config']): void {
  const secure = config.publicUrls.some((url) => url.startsWith('https:')) || request.headers['x-forwarded-proto'] === 'https' || request.protocol === 'https';
  // under --base-path the cookie goes to the hub's own path only, not to the proxy's other apps
  const parts = [`${SESSION_COOKIE}=${value}`, `Path=${config.basePath === '' ? '/' : config.basePath}`, `Max-Age=${maxAgeS}`, 'HttpOnly', 'SameSite=Strict'];
  if (secure) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}
