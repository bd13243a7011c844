/**
 * `runlog token create|list|revoke`: through a hub with an admin token, or on the local store
 * (`--hub none`, or no hub answering) to make the first one. The secret is printed once, on
 * stdout alone (so `runlog token create … > file` keeps it); nothing else ever shows it.
 */
import { terminalJson } from '../../core/terminal.js';
import { parseScopes, type Scope } from '../../core/scopes.js';
import { newTokenSecret, sha256 } from '../../server/auth/tokens.js';
import { parseNewToken, publicToken } from '../../server/routes/tokens.js';
import { hubError, hubFetch } from '../../sinks/hub-http.js';
import { describeStore, openStore } from '../../store/open.js';
import type { Store, TokenRecord } from '../../store/store.js';
import { UsageError } from '../args.js';
import { findHub } from '../hub-client.js';
import { table } from '../table.js';
import { redactUrl } from '../../core/redact.js';

interface TokenFlags {
  hub?: string;
  data: string;
  /** a store to write directly (PostgreSQL shared by several hubs, or a SQLite file) */
  db?: string;
  json?: boolean;
}

export interface CreateFlags extends TokenFlags {
  scope: string;
  worker?: string;
  expires?: string;
}

type ShownToken = Omit<TokenRecord, 'hash'>;

export async function createToken(name: string, flags: CreateFlags): Promise<void> {
  let scopes: Scope[];
  try {
    scopes = parseScopes(flags.scope);
  } catch (error) {
    throw new UsageError(`--scope: ${(error as Error).message}`);
  }
  const body = { name, scopes, worker_id: flags.worker ?? null, expires: flags.expires ?? null };
  let spec: ReturnType<typeof parseNewToken>;
  try {
    spec = parseNewToken(body);
  } catch (error) {
    throw new UsageError(flagged((error as Error).message));
  }
  const hub = flags.db ? undefined : await findHub(flags.hub, true);
  let created: ShownToken & { token: string };
  if (hub !== undefined) {
    created = await call(`${hub}/api/tokens`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  } else {
    const store = await openStore({ db: flags.db, dataDir: flags.data });
    try {
      const secret = newTokenSecret();
      const hash = sha256(secret);
      if (!(await store.createToken({ ...spec, hash, created_by: null }))) throw new UsageError(`a token named ${name} exists: revoke it first or choose another name`);
      const record = (await store.findToken(hash)) as TokenRecord;
      created = { ...publicToken(record), token: secret };
    } finally {
      await store.close();
    }
  }
  if (flags.json) process.stdout.write(`${terminalJson(created)}\n`);
  else {
    process.stdout.write(`${created.token}\n`);
    const where = hub !== undefined ? redactUrl(hub) : describeStore({ db: flags.db, dataDir: flags.data });
    process.stderr.write(
      `runlog: token ${created.name} (${created.scopes.join(', ')}${created.worker_id ? `, worker ${created.worker_id}` : ''}) created in ${where}; ` +
        `it is shown this once: keep it in a file (RUNLOG_TOKEN_FILE) or a secret store\n`,
    );
  }
}

export async function listTokens(flags: TokenFlags): Promise<void> {
  const tokens = await withStoreOrHub(flags, async (store) => (await store.listTokens()).map(publicToken), async (hub) => (await call<{ tokens: ShownToken[] }>(`${hub}/api/tokens`)).tokens);
  if (flags.json) {
    process.stdout.write(`${terminalJson(tokens)}\n`);
    return;
  }
  const rows = tokens.map((t) => [t.name, t.scopes.join(','), t.worker_id ?? '-', day(t.created_at), t.expires_at === null ? 'never' : day(t.expires_at), t.last_used_at === null ? 'never' : day(t.last_used_at)]);
  process.stdout.write(table(['NAME', 'SCOPES', 'WORKER', 'CREATED', 'EXPIRES', 'LAST USED'], rows));
}

export async function revokeToken(name: string, flags: TokenFlags): Promise<void> {
  const revoked = await withStoreOrHub(
    flags,
    (store) => store.revokeToken(name),
    async (hub) => {
      const response = await hubFetch(`${hub}/api/tokens/${encodeURIComponent(name)}`, { method: 'DELETE' });
      if (response.status === 404) return false;
      if (!response.ok) throw new Error(await hubError(response));
      return true;
    },
  );
  if (!revoked) throw new Error(`no token named ${name}`);
  process.stdout.write(`revoked ${name}\n`);
}

async function withStoreOrHub<T>(flags: TokenFlags, local: (store: Store) => Promise<T>, remote: (hub: string) => Promise<T>): Promise<T> {
  const hub = flags.db ? undefined : await findHub(flags.hub, true);
  if (hub !== undefined) return remote(hub);
  const store = await openStore({ db: flags.db, dataDir: flags.data, existing: true });
  try {
    return await local(store);
  } finally {
    await store.close();
  }
}

async function call<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await hubFetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(await hubError(response));
  return (await response.json()) as T;
}

/** The API's field names as the CLI's flags. */
function flagged(message: string): string {
  return message.replace(/^worker_id:/, '--worker:').replace(/^expires:/, '--expires:').replace(/^name:/, 'NAME:').replace(/^scopes:/, '--scope:');
}

function day(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}
