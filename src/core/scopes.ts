/**
 * What a token may do. Each route of the hub declares one scope (or a list, any of which will do)
 * in its options, `{ config: { scope: 'write' } }`; a route without one stops the hub at start.
 */
export const SCOPES = ['read', 'write', 'worker', 'submit', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** `public`: answered without a token even when tokens exist (health, the UI's static files, signing in). */
export type RouteScope = Scope | 'public' | readonly Scope[];

export const SCOPE_HELP: Readonly<Record<Scope, string>> = {
  read: 'runs, lines, downloads, workers, worker lines, live streams, the web UI',
  write: 'create a run, add its lines, end it (runlog run, follow, the SDK)',
  worker: 'heartbeats, claims, and the lines, release and end of the tasks it claimed, for one worker id',
  submit: 'queue tasks: this runs commands on workers',
  admin: 'tokens, cleanup, deleting, and everything else',
};

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** Parses `read,write`; throws naming the bad one. */
export function parseScopes(text: string): Scope[] {
  const scopes = text.split(',').map((scope) => scope.trim()).filter(Boolean);
  if (scopes.length === 0) throw new Error(`expected one or more of ${SCOPES.join(', ')}`);
  for (const scope of scopes) if (!isScope(scope)) throw new Error(`unknown scope ${JSON.stringify(scope)}: expected ${SCOPES.join(', ')}`);
  return [...new Set(scopes)] as Scope[];
}

/** Does a holder of `held` satisfy a route that asks for `wanted`? admin satisfies everything. */
export function allows(held: ReadonlySet<Scope>, wanted: RouteScope): boolean {
  if (wanted === 'public') return true;
  if (held.has('admin')) return true;
  const any = typeof wanted === 'string' ? [wanted] : wanted;
  return any.some((scope) => held.has(scope));
}

export function scopeNames(wanted: RouteScope): string {
  return typeof wanted === 'string' ? wanted : wanted.join(' or ');
}
