/**
 * A hub asked to listen beyond loopback with no token refuses and names the command that makes the
 * first one, in the store that hub reads: its --db when given (a PostgreSQL hub's tokens are in the
 * database), else its data directory. The hint used to name the data directory always.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { firstTokenCommand, startHub } from '../src/server/listen.js';
import { cli, tempDir } from './helpers.js';

it('names the --db store a hub was given, and the command made there lets the hub start', async () => {
  const dataDir = tempDir();
  const db = join(tempDir(), 'elsewhere.db');
  const refused = startHub({ host: '0.0.0.0', port: 0, dataDir, db }, { audit: () => {} });
  await expect(refused).rejects.toThrow(`Create an admin token first: runlog token create admin --scope admin --db ${db}`);
  const made = await cli(['token', 'create', 'admin', '--scope', 'admin', '--db', db]);
  expect(made.code).toBe(0);
  const hub = await startHub({ host: '0.0.0.0', port: 0, dataDir, db }, { audit: () => {} });
  await hub.close();
});

it('names the data directory of a hub without --db', async () => {
  const dataDir = tempDir();
  await expect(startHub({ host: '0.0.0.0', port: 0, dataDir }, { audit: () => {} })).rejects.toThrow(
    `runlog token create admin --scope admin --hub none --data ${dataDir}`,
  );
});

it("gives a PostgreSQL hub's URL, never its password", () => {
  expect(firstTokenCommand({ db: 'postgres:///runlog', dataDir: '/x' })).toBe('runlog token create admin --scope admin --db postgres:///runlog');
  const hint = firstTokenCommand({ db: 'postgres://runlog:s3cret@db.internal/runlog', dataDir: '/x' });
  expect(hint).not.toContain('s3cret');
  expect(hint).toBe("runlog token create admin --scope admin --db 'postgres://runlog:***@db.internal/runlog' (with the URL's password where it shows ***)");
});
