import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '../../core/redact.js';

/**
 * What psql does with a URL that leaves things out, which node-postgres does not: no host is the
 * local socket (Debian's /var/run/postgresql, else /tmp, when one listens there), no user is the
 * user this runs as. PGHOST and PGUSER still win, as they do for psql.
 */
export function withLocalDefaults(url: string, env: NodeJS.ProcessEnv = process.env): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // pg's own parser says what is wrong with it
  }
  const port = parsed.port || parsed.searchParams.get('port') || env.PGPORT || '5432';
  if (parsed.hostname === '' && !parsed.searchParams.has('host') && !env.PGHOST) {
    const dir = ['/var/run/postgresql', '/tmp'].find((candidate) => existsSync(join(candidate, `.s.PGSQL.${port}`)));
    if (dir !== undefined) parsed.searchParams.set('host', dir);
  }
  if (parsed.username === '' && !parsed.searchParams.has('user') && !env.PGUSER) {
    try {
      parsed.searchParams.set('user', userInfo().username);
    } catch {
      // no name for this uid: pg says so
    }
  }
  return parsed.toString();
}

/**
 * Why a first connection failed, naming the store (its password hidden): "connect ECONNREFUSED"
 * or "password authentication failed" alone do not say which of RUNLOG_DB, --db or PGHOST was
 * used. node-postgres's words for a password the server asked for and none was given (a SASL
 * message) are replaced by what to do.
 */
export function connectError(error: unknown, url: string, env: NodeJS.ProcessEnv = process.env): Error {
  const message = error instanceof Error ? error.message : String(error);
  let why = message;
  if (/client password must be a (non-empty )?string|^Password must be a string/.test(message)) {
    let user = env.PGUSER ?? '';
    try {
      const parsed = new URL(withLocalDefaults(url, env));
      user = decodeURIComponent(parsed.username) || parsed.searchParams.get('user') || user;
    } catch {
      // a URL pg could connect with parses: keep PGUSER
    }
    why = `the server asks for ${user ? `${user}'s` : 'a'} password and none was given: put it in the URL (postgres://user:password@host/db) or in PGPASSWORD`;
  }
  return new Error(`cannot connect to ${redactUrl(url)}: ${why}`, { cause: error });
}

/**
 * An error met creating or upgrading the schema, naming the database: a role without the rights
 * (PostgreSQL 15 takes CREATE on schema public from PUBLIC) said only "permission denied for
 * schema public", not where.
 */
export function schemaError(error: unknown, url: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /permission denied/.test(message) ? " (this role may not create or read runlog's tables there: run `runlog migrate --db …` as one that may, the database's owner, or grant it CREATE on the schema)" : '';
  return new Error(`${redactUrl(url)}: ${message}${hint}`, { cause: error });
}
