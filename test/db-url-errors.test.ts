/**
 * `--db` URLs that cannot be used: the error names the store with its password as `***`, never the
 * password itself (a mysql:// URL, an upper-case scheme, a password holding `@`), and says what to
 * do where node-postgres's own words do not (a server asking for a password none was given for).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';
import { describeWithPostgres } from './postgres.js';

const SECRET = 'S3cretPw';

it('refuses a URL of another kind without printing its password', async () => {
  for (const db of [`mysql://me:${SECRET}@db.internal/runlog`, `redis://:${SECRET}@cache:6379/0`]) {
    for (const args of [['migrate', '--dry-run'], ['runs'], ['server', '--port', '0']] as string[][]) {
      const refused = await cli([...args, '--db', db, '--data', tempDir()]);
      expect(refused.code, `${args[0]} ${db}`).toBe(2);
      expect(refused.stderr, `${args[0]} ${db}`).not.toContain(SECRET);
      expect(refused.stderr, `${args[0]} ${db}`).toContain(':***@');
    }
  }
});

it('a read given a SQLite file that does not exist says so, and creates neither the file nor its directory', async () => {
  const missing = join(tempDir(), 'typo', 'runlog.db');
  for (const args of [['runs'], ['workers'], ['logs', 'some-run'], ['grep', 'needle']] as string[][]) {
    const refused = await cli([...args, '--db', missing, '--data', tempDir()]);
    expect(refused.code, args[0]).toBe(2);
    expect(refused.stderr, args[0]).toContain(`no store at ${missing}`);
    expect(existsSync(join(missing, '..')), args[0]).toBe(false);
  }
});

it('a read given a --data directory that does not exist says so, and creates nothing (it made an empty store there)', async () => {
  const missing = join(tempDir(), 'nope');
  for (const args of [['runs'], ['workers'], ['logs', 'some-run'], ['grep', 'needle'], ['logs', 'worker:w1']] as string[][]) {
    const refused = await cli([...args, '--hub', 'none', '--data', missing]);
    expect([refused.code, refused.stdout], args.join(' ')).toEqual([2, '']);
    expect(refused.stderr, args.join(' ')).toContain(`no runlog data at ${missing}: no such directory`);
    expect(existsSync(missing), args.join(' ')).toBe(false);
  }
  // a directory that exists but holds no store yet is still an empty answer, not an error
  const empty = await cli(['runs', '--hub', 'none', '--data', tempDir()]);
  expect(empty.code).toBe(0);
});

it('cleanup and token list|revoke with a --data or --db that does not exist make no store there either', async () => {
  const missing = join(tempDir(), 'nope');
  for (const args of [['cleanup'], ['token', 'list'], ['token', 'revoke', 'ci']] as string[][]) {
    const refused = await cli([...args, '--hub', 'none', '--data', missing]);
    expect([refused.code, refused.stdout], args.join(' ')).toEqual([2, '']);
    expect(refused.stderr, args.join(' ')).toContain(`no runlog data at ${missing}: no such directory`);
    expect(existsSync(missing), args.join(' ')).toBe(false);
    const file = join(missing, 'typo.db');
    const byFile = await cli([...args, '--db', file, '--data', tempDir()]);
    expect([byFile.code, byFile.stderr.includes(`no store at ${file}`)], args.join(' ')).toEqual([2, true]);
    expect(existsSync(missing), args.join(' ')).toBe(false);
  }
  // a token made where no store is yet makes it (a token before the first hub starts there)
  const made = await cli(['token', 'create', 'ci', '--scope', 'read', '--hub', 'none', '--data', missing]);
  expect(made.code, made.stderr).toBe(0);
  expect(existsSync(join(missing, 'runlog.db'))).toBe(true);
  const cleaned = await cli(['cleanup', '--hub', 'none', '--data', missing]);
  expect([cleaned.code, cleaned.stdout]).toEqual([0, 'deleted 0 worker lines and 0 runs\n']);
});

it('names the store it could not reach, password hidden, whatever the URL holds', async () => {
  // port 1: nothing listens there, so each is refused at connect, after the URL was read
  for (const [db, shown] of [
    [`POSTGRES://me:${SECRET}@127.0.0.1:1/runlog`, 'POSTGRES://me:***@127.0.0.1:1/runlog'],
    [`postgres://me:p@ss${SECRET}@127.0.0.1:1/runlog`, 'postgres://me:***@127.0.0.1:1/runlog'],
    [`postgres://me@127.0.0.1:1/runlog?password=${SECRET}`, 'postgres://me@127.0.0.1:1/runlog?password=***'],
  ] as const) {
    for (const args of [['migrate', '--dry-run'], ['migrate'], ['runs'], ['server', '--port', '0']] as string[][]) {
      const refused = await cli([...args, '--db', db, '--data', tempDir()]);
      expect(refused.code, `${args.join(' ')} ${db}`).toBe(2);
      expect(refused.stderr, `${args.join(' ')} ${db}`).not.toContain(SECRET);
      expect(refused.stderr, `${args.join(' ')} ${db}`).toContain(`cannot connect to ${shown}: connect ECONNREFUSED 127.0.0.1:1`);
    }
  }
});

describeWithPostgres('a PostgreSQL server that asks for a password', () => {
  it('says none was given and where to give it, not a SASL message', async () => {
    // over TCP the server asks even an unknown user for a password (scram-sha-256, Debian's pg_hba)
    const db = 'postgres://runlog_nobody@127.0.0.1:5432/postgres';
    const refused = await cli(['migrate', '--dry-run', '--db', db], { PGPASSWORD: undefined });
    expect(refused.code).toBe(2);
    expect(refused.stderr).not.toContain('SASL');
    expect(refused.stderr).toContain(`cannot connect to ${db}: the server asks for runlog_nobody's password and none was given`);
    expect(refused.stderr).toContain('PGPASSWORD');
  });
});

it('a read where nothing ran yet (the default ./.runlog missing) is an empty answer, and creates nothing', async () => {
  const fresh = tempDir();
  const run = async (args: string[]) => {
    const { code, stdout } = await cli([...args, '--hub', 'none'], { RUNLOG_DATA: undefined }, fresh);
    return { code, stdout };
  };
  expect(await run(['runs', '--json'])).toEqual({ code: 0, stdout: '[]\n' });
  expect((await run(['workers', '--json'])).code).toBe(0);
  expect(existsSync(join(fresh, '.runlog'))).toBe(false);
});
