/** `runlog migrate`: the steps a store lacks, printed, applied once; --dry-run applies none (SQLite here; PostgreSQL in postgres-seed.test.ts). */
import Database from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';
import { cli, tempDir } from './helpers.js';

const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));

it('creates and migrates a SQLite file, printing each step once, and a dry run changes nothing', async () => {
  const data = tempDir();
  const dry = await cli(['migrate', '--data', data, '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('would create');
  expect(dry.stdout).toMatch(/would apply 10: /);
  expect(existsSync(join(data, 'runlog.db'))).toBe(false);
  const applied = await cli(['migrate', '--data', data]);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(/applied 10: /);
  for (const step of MIGRATIONS) expect(applied.stdout).toContain(`applied ${step.version}: ${step.name}`);
  expect(applied.stdout).toContain(`migrated (version ${LATEST})`);
  const again = await cli(['migrate', '--data', data]);
  expect(again.stdout).not.toContain('applied');
  expect(again.stdout).toContain(`up to date (version ${LATEST})`);
});

it('refuses a SQLite file a newer runlog migrated, saying so, and changes nothing in it', async () => {
  const data = tempDir();
  expect((await cli(['migrate', '--data', data])).code).toBe(0);
  const file = join(data, 'runlog.db');
  const db = new Database(file);
  db.pragma(`user_version = ${LATEST + 3}`);
  db.close();
  for (const args of [['migrate', '--data', data], ['migrate', '--data', data, '--dry-run'], ['server', '--data', data, '--port', '0']]) {
    const refused = await cli(args);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`schema version ${LATEST + 3}, made by a newer runlog`);
    expect(refused.stderr).toContain(`up to ${LATEST}`);
  }
  const after = new Database(file, { readonly: true });
  expect(after.pragma('user_version', { simple: true })).toBe(LATEST + 3);
  after.close();
});

it('names the SQLite file it cannot use: not a database, or a directory', async () => {
  const data = tempDir();
  const garbage = join(data, 'notes.db');
  writeFileSync(garbage, 'not a database, just text\n'.repeat(100));
  for (const args of [['migrate'], ['migrate', '--dry-run'], ['runs', '--hub', 'none'], ['server', '--port', '0']]) {
    const refused = await cli([...args, '--db', garbage]);
    expect(refused.code, args.join(' ')).toBe(2);
    expect(refused.stderr, args.join(' ')).toContain(`runlog: SQLite file ${garbage}: file is not a database`);
  }
  for (const args of [['migrate'], ['runs', '--hub', 'none']]) {
    const refused = await cli([...args, '--db', data]);
    expect(refused.code, args.join(' ')).toBe(2);
    expect(refused.stderr, args.join(' ')).toContain(`runlog: SQLite file ${data}: a directory (--db names the file, --data its directory)`);
  }
});

it('a read does not upgrade a file an older release made (its hub may still write it): it says to migrate, and changes nothing', async () => {
  const data = tempDir();
  expect((await cli(['migrate', '--data', data])).code).toBe(0);
  const file = join(data, 'runlog.db');
  const db = new Database(file);
  db.pragma(`user_version = ${LATEST - 1}`); // as the release before the last step left it
  db.close();
  for (const args of [['runs', '--db', file], ['workers', '--db', file], ['grep', 'x', '--db', file], ['runs', '--hub', 'none', '--data', data]]) {
    const refused = await cli(args);
    expect(refused.code, args.join(' ')).toBe(2);
    expect(refused.stderr, args.join(' ')).toContain(`is at schema version ${LATEST - 1}, behind this runlog's (${LATEST})`);
    expect(refused.stderr, args.join(' ')).toContain('runlog migrate');
  }
  const after = new Database(file, { readonly: true });
  expect(after.pragma('user_version', { simple: true })).toBe(LATEST - 1);
  after.close();
  expect((await cli(['migrate', '--data', data])).stdout).toContain(`applied ${LATEST}: `);
  expect((await cli(['runs', '--db', file])).code).toBe(0);
});
