/** Tokens, through the hub (admin): create (the secret is answered once), list (never a secret), revoke. */
import type { FastifyInstance } from 'fastify';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import { nowMicros } from '../../core/record.js';
import { parseDuration } from '../../core/time.js';
import { LIMITS } from '../../core/limits.js';
import { isScope, SCOPES, type Scope } from '../../core/scopes.js';
import type { TokenRecord } from '../../store/store.js';
import { newTokenSecret, sha256 } from '../auth/tokens.js';
import { idParam } from '../params.js';
import { objectBody } from './runs.js';
import type { RouteContext } from '../context.js';

export function tokenRoutes(app: FastifyInstance, { store, tokens, audit }: RouteContext): void {
  app.post('/api/tokens', { config: { scope: 'admin' } }, async (request, reply) => {
    const body = objectBody(request.body);
    const spec = parseNewToken(body);
    const secret = newTokenSecret();
    const hash = sha256(secret);
    const by = request.auth.tokenName;
    const created = await store.createToken({ ...spec, hash, created_by: by });
    if (!created) throw conflict(`a token named ${spec.name} exists: revoke it first or choose another name`);
    tokens.invalidate();
    audit('token.create', { name: spec.name, scopes: spec.scopes.join(','), worker: spec.worker_id, by: by ?? 'open hub' });
    reply.code(201);
    const record = await store.findToken(hash);
    return { ...publicToken(record as TokenRecord), token: secret };
  });

  app.get('/api/tokens', { config: { scope: 'admin' } }, async () => ({ tokens: (await store.listTokens()).map(publicToken) }));

  app.delete('/api/tokens/:name', { config: { scope: 'admin' } }, async (request) => {
    const name = idParam((request.params as { name: string }).name, 'name');
    if (!(await store.revokeToken(name))) throw notFound(`token ${name}`);
    tokens.invalidate();
    audit('token.revoke', { name, by: request.auth.tokenName ?? 'open hub' });
    return { revoked: name };
  });
}

/** A token as it is shown: everything but its hash. */
export function publicToken(token: TokenRecord): Omit<TokenRecord, 'hash'> {
  const { hash: _hash, ...shown } = token;
  return shown;
}

export interface TokenSpec {
  name: string;
  scopes: Scope[];
  worker_id: string | null;
  expires_at: number | null;
}

/** name, scopes (array or `a,b`), worker_id (required with `worker`, only with it), expires (a duration). */
export function parseNewToken(body: Record<string, unknown>): TokenSpec {
  const name = idParam(body.name, 'name');
  const raw = typeof body.scopes === 'string' ? body.scopes.split(',').map((scope) => scope.trim()) : body.scopes;
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest('scopes', `expected one or more of ${SCOPES.join(', ')}`);
  for (const scope of raw) if (!isScope(scope)) throw badRequest('scopes', `unknown scope ${JSON.stringify(scope)}: expected ${SCOPES.join(', ')}`);
  const scopes = [...new Set(raw as Scope[])];
  const workerId = body.worker_id === undefined || body.worker_id === null ? null : idParam(body.worker_id, 'worker_id');
  if (scopes.includes('worker') && workerId === null) throw badRequest('worker_id', 'a worker token acts for one worker: give its id');
  if (!scopes.includes('worker') && workerId !== null) throw badRequest('worker_id', 'only a token with the worker scope is bound to a worker');
  let expiresAt: number | null = null;
  if (body.expires !== undefined && body.expires !== null) {
    const ms = typeof body.expires === 'string' ? parseDuration(body.expires) : undefined;
    // bounded: an expiry past the year 9999 has no date to show (and once answered a 500)
    if (ms === undefined || ms <= 0 || ms > LIMITS.tokenExpiresMs) throw badRequest('expires', `expected a duration like 90d, 12h, of at most ${LIMITS.tokenExpiresMs / 86_400_000}d`);
    expiresAt = nowMicros() + ms * 1000;
  }
  return { name, scopes, worker_id: workerId, expires_at: expiresAt };
}
