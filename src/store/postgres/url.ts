import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

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
