/**
 * The hub's secret key is checked when it starts. A key file of the wrong size (a hex key made
 * with `openssl rand -hex 32`) used to be read only at the first task with an environment, which
 * the hub answered 500 and `runlog submit` reported as "internal error"; a `--secret-file` that
 * did not exist was made afresh, a key no other hub on the database had.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startHub } from '../src/server/listen.js';
import { cliKilledAfterEach, tempDir } from './helpers.js';

const cli = cliKilledAfterEach();

it('runlog server with a --secret-file of the wrong size exits 2 naming the file, its size and how to make one', async () => {
  const dir = tempDir();
  const keyFile = join(dir, 'hex.key');
  writeFileSync(keyFile, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  const result = await cli(['server', '--port', '0', '--data', join(dir, 'data'), '--secret-file', keyFile]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`--secret-file ${keyFile}: expected 32 bytes, got 65`);
  expect(result.stderr).toContain('head -c 32 /dev/urandom');
  expect(result.stdout).not.toContain('listening');
});

it('runlog server with a --secret-file that does not exist exits 2 and makes none', async () => {
  const dir = tempDir();
  const keyFile = join(dir, 'typo.key');
  const result = await cli(['server', '--port', '0', '--data', join(dir, 'data'), '--secret-file', keyFile]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`--secret-file ${keyFile}: no such file`);
  expect(existsSync(keyFile)).toBe(false);
});

it('a hub whose <data>/secret.key is damaged refuses to start; one without it starts and makes it on first use', async () => {
  const damaged = tempDir();
  writeFileSync(join(damaged, 'secret.key'), 'short');
  await expect(startHub({ host: '127.0.0.1', port: 0, dataDir: damaged }, { audit: () => {} })).rejects.toThrow(/secret key .*secret\.key: expected 32 bytes, got 5/);

  const fresh = tempDir();
  const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: fresh }, { audit: () => {} });
  try {
    const answer = await fetch(`${hub.url}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: ['true'], env: { K: 'v' } }) });
    expect(answer.status).toBe(201);
    expect(existsSync(join(fresh, 'secret.key'))).toBe(true);
  } finally {
    await hub.close();
  }
});

it('a --secret-file of 32 bytes is taken', async () => {
  const dir = tempDir();
  const keyFile = join(dir, 'good.key');
  writeFileSync(keyFile, Buffer.alloc(32, 7), { mode: 0o600 });
  const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'data'), secretFile: keyFile }, { audit: () => {} });
  try {
    const answer = await fetch(`${hub.url}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: ['true'], env: { K: 'v' } }) });
    expect(answer.status).toBe(201);
  } finally {
    await hub.close();
  }
});
