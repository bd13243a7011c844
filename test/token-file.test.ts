/** A token file runlog cannot read is named with the cause in words, not a bare errno code. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readTokenFile } from '../src/sinks/hub-http.js';
import { cli, tempDir } from './helpers.js';

it('says why a token file cannot be read', () => {
  const dir = tempDir();
  expect(() => readTokenFile(join(dir, 'absent.token'))).toThrow(`token file ${join(dir, 'absent.token')}: no such file (ENOENT)`);
  expect(() => readTokenFile(dir)).toThrow(`token file ${dir}: a directory, not a file (EISDIR)`);
  writeFileSync(join(dir, 'empty.token'), '\n');
  expect(() => readTokenFile(join(dir, 'empty.token'))).toThrow('is empty');
  writeFileSync(join(dir, 'ok.token'), 'rl_abc\n');
  expect(readTokenFile(join(dir, 'ok.token'))).toBe('rl_abc');
});

it('runlog runs with RUNLOG_TOKEN_FILE naming a missing file exits 2 saying so', async () => {
  const dir = tempDir();
  const result = await cli(['runs', '--hub', 'http://127.0.0.1:9'], { RUNLOG_TOKEN_FILE: join(dir, 'gone.token') });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`token file ${join(dir, 'gone.token')}: no such file (ENOENT)`);
});
