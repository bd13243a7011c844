/**
 * The hub's gate, in front of every route (the design: DESIGN.md "Trust and liveness").
 *
 * 1. Host: only the names the hub serves (hosts.ts): DNS rebinding reaches nothing.
 * 2. Origin: a state-changing request from a browser must come from the hub's own origin, so a
 *    page elsewhere cannot act with the user's session (or against a token-less loopback hub).
 * 3. Who: `Authorization: Bearer <token>`, or the web UI's session cookie.
 * 4. What: each route declares its scope (`{ config: { scope } }`); a route without one stops the
 *    hub at start, so no route is ever added without a decision. Once any token exists (or the
 *    hub listens beyond loopback) every route but the public ones needs a token with that scope:
 *    401 without one, 403 naming the missing scope.
 * 5. Every answer carries a Content-Security-Policy without inline script, frame-ancestors 'none',
 *    nosniff and no-referrer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { forbidden, unauthorized } from '../../core/errors.js';
import { nowMicros } from '../../core/record.js';
import { allows, scopeNames, SCOPES, type RouteScope, type Scope } from '../../core/scopes.js';
import { parseIsoMicros } from '../../core/time.js';
import type { Store, TokenRecord } from '../../store/store.js';
import type { TokenCache } from './cache.js';
import { hostOfHeader } from './hosts.js';
import { sha256 } from './tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
    /**
     * A public route that must answer without the store (/healthz): the guard asks the store nothing
     * for it (whether tokens exist, whose token it is), so a database that hangs or is gone cannot
     * hold or replace the route's own answer.
     */
    storeFree?: boolean;
  }
  interface FastifyRequest {
    auth: RequestAuth;
  }
}

export interface RequestAuth {
  /** tokens exist (or the hub listens beyond loopback): requests must carry one */
  required: boolean;
  /** the token acting (null: no token, on an open loopback hub or a public route) */
  tokenName: string | null;
  scopes: ReadonlySet<Scope>;
  /** a `worker` token acts for this worker only */
  workerId: string | null;
  via: 'open' | 'token' | 'session' | 'none';
  /**
   * Asks again whether the token (or session) that made the request still holds: a live stream
   * outlives its request, and must end when its token is revoked or expires (sse.ts). Absent when
   * no credential was used.
   */
  lapsed?: () => Promise<AuthLapse | undefined>;
}

/** Why a credential no longer holds (an `error` event's data on a stream it opened). */
export interface AuthLapse {
  error: 'TOKEN_REVOKED' | 'TOKEN_EXPIRED';
  message: string;
}

export const SESSION_COOKIE = 'runlog_session';

const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);
const NO_SCOPES: ReadonlySet<Scope> = new Set();
const OPEN: RequestAuth = { required: false, tokenName: null, scopes: ALL_SCOPES, workerId: null, via: 'open' };
const ANONYMOUS: RequestAuth = { required: true, tokenName: null, scopes: NO_SCOPES, workerId: null, via: 'none' };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface GuardOptions {
  store: Store;
  tokens: TokenCache;
  /** host names served (null: any) */
  hosts: ReadonlySet<string> | null;
  /** the hub listens beyond loopback: a token is needed even before one exists */
  exposed: boolean;
  /** the origins of --public-url (`https://runlog.example.com`): a page there is the hub's own behind its proxy */
  publicOrigins?: ReadonlySet<string>;
}

export interface RouteEntry {
  method: string;
  url: string;
  scope: RouteScope | undefined;
}

const routeLists = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route of the app with its declared scope: for the route × scope table (tests, docs). */
export function routeList(app: FastifyInstance): readonly RouteEntry[] {
  return routeLists.get(app) ?? [];
}

export function installGuard(app: FastifyInstance, options: GuardOptions): void {
  const routes: RouteOptions[] = [];
  routeLists.set(app, []);
  app.decorateRequest('auth', null as unknown as RequestAuth);
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onReady', async () => {
    // read at ready: a plugin's own onRoute hook (the UI's) sets its scope after ours ran
    const list = routeLists.get(app) ?? [];
    for (const route of routes) {
      for (const method of [route.method].flat()) list.push({ method, url: route.url, scope: route.config?.scope });
    }
    const missing = list.filter((route) => route.scope === undefined);
    if (missing.length > 0) throw new Error(`routes without a scope: ${missing.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  });
  app.addHook('onRequest', async (request, reply) => {
    checkHost(request, options.hosts);
    const config = request.routeOptions.config;
    // a public route answers everyone: who is asking is only worth a store query when it needs to know
    request.auth = config?.scope === 'public' && config.storeFree === true ? ANONYMOUS : await authenticate(request, options);
    checkOrigin(request, options.publicOrigins ?? new Set());
    authorize(request, reply);
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    return payload;
  });
}

function checkHost(request: FastifyRequest, hosts: ReadonlySet<string> | null): void {
  if (hosts === null) return;
  const header = request.headers.host;
  if (header === undefined) return; // not a browser (HTTP/1.1 clients always send it)
  const host = hostOfHeader(header);
  if (!hosts.has(host)) {
    throw forbidden(`host ${JSON.stringify(host.slice(0, 100))} is not served here (start the hub with --public-url naming it)`, 'HOST_NOT_ALLOWED');
  }
}

async function authenticate(request: FastifyRequest, options: GuardOptions): Promise<RequestAuth> {
  const required = options.exposed || (await options.tokens.anyToken());
  if (!required) return OPEN;
  const header = request.headers.authorization;
  let token: TokenRecord | undefined;
  let via: RequestAuth['via'] = 'token';
  let find: () => Promise<TokenRecord | undefined>;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) throw unauthorized('Authorization: expected "Bearer <token>"');
    const hash = sha256(match[1] as string);
    find = () => options.tokens.lookup(hash);
    token = await find();
    if (token === undefined) throw unauthorized('unknown or revoked token');
  } else {
    const session = cookie(request, SESSION_COOKIE);
    if (session === undefined) return ANONYMOUS;
    via = 'session';
    const hash = sha256(session);
    find = () => options.store.findSession(hash, nowMicros());
    token = await find();
    if (token === undefined) return ANONYMOUS; // an expired session: as if signed out
  }
  if (expired(token)) throw unauthorized(`token "${token.name}" expired at ${token.expires_at}`);
  options.tokens.used(token);
  const name = token.name;
  const lapsed = async (): Promise<AuthLapse | undefined> => {
    const now = await find();
    if (now === undefined) {
      const what = via === 'session' ? `the session of token "${name}" ended (signed out, expired, or the token revoked)` : `token "${name}" was revoked`;
      return { error: 'TOKEN_REVOKED', message: what };
    }
    return expired(now) ? { error: 'TOKEN_EXPIRED', message: `token "${name}" expired at ${now.expires_at}` } : undefined;
  };
  return { required: true, tokenName: name, scopes: new Set(token.scopes), workerId: token.worker_id, via, lapsed };
}

function expired(token: TokenRecord): boolean {
  return token.expires_at !== null && (parseIsoMicros(token.expires_at) ?? 0) <= nowMicros();
}

function checkOrigin(request: FastifyRequest, publicOrigins: ReadonlySet<string>): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin === undefined) {
    // a browser always sends Origin with a POST; a session cookie without one is not trusted
    if (request.auth.via === 'session' && request.headers['sec-fetch-site'] !== 'same-origin') {
      throw forbidden('a request made with the session cookie must come from the hub’s own pages', 'CROSS_ORIGIN');
    }
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw forbidden(`Origin ${JSON.stringify(origin.slice(0, 100))} is not the hub's`, 'CROSS_ORIGIN');
  }
  // the hub's own origin is its host *and port*: a page on another port of the same machine (a
  // notebook, a job's own web server) is another origin, though the same site, so the SameSite
  // cookie goes with its requests; matching the host name alone let it act as the signed-in user
  const sameHost = parsed.host.toLowerCase() === (request.headers.host ?? '').toLowerCase();
  if (!sameHost && !publicOrigins.has(parsed.origin.toLowerCase())) {
    throw forbidden(`cross-origin request from ${JSON.stringify(origin.slice(0, 100))} refused`, 'CROSS_ORIGIN');
  }
}

function authorize(request: FastifyRequest, reply: FastifyReply): void {
  const scope = request.routeOptions.config?.scope ?? 'read'; // no route (a 404): as a read
  const auth = request.auth;
  if (allows(auth.scopes, scope)) return;
  if (auth.tokenName === null) {
    reply.header('www-authenticate', 'Bearer realm="runlog"');
    throw unauthorized('a token is needed (Authorization: Bearer <token>); `runlog token create` makes one');
  }
  throw forbidden(`this needs the ${scopeNames(scope)} scope; token "${auth.tokenName}" has ${[...auth.scopes].join(', ') || 'none'}`, 'MISSING_SCOPE');
}

/** The worker a request acts for must be the one its token is bound to (admin and open hubs: any). */
export function assertActsFor(auth: RequestAuth, workerId: string): void {
  if (!auth.required || auth.scopes.has('admin')) return;
  if (auth.workerId !== workerId) {
    throw forbidden(`token "${auth.tokenName}" acts for ${auth.workerId === null ? 'no worker' : `worker ${auth.workerId}`}, not ${workerId}`, 'WRONG_WORKER');
  }
}

export function cookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
