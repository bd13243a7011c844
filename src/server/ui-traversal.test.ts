/** The UI's file server keeps to its folder: a path out of it is a 403 under runlog's FORBIDDEN code (it said BAD_REQUEST). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { resolveHubConfig } from '../core/config.js';
import { LiveFanout } from '../pipeline/live.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { buildApp } from './app.js';

it('refuses a path that climbs out of the UI folder with 403 FORBIDDEN, serving nothing from outside', async () => {
  const root = mkdtempSync(join(tmpdir(), 'runlog-ui-'));
  const ui = join(root, 'ui');
  writeFileSync(join(root, 'outside.txt'), 'not the UI');
  mkdirSync(ui);
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
  const store = new SqliteStore(':memory:');
  const app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ uiDir: ui }) });
  try {
    expect((await app.inject('/')).statusCode).toBe(200);
    const statuses: number[] = [];
    for (const url of ['/..%2foutside.txt', '/%2e%2e/outside.txt', '/assets/..%2f..%2foutside.txt']) {
      const answer = await app.inject(url);
      expect(answer.body).not.toContain('not the UI');
      statuses.push(answer.statusCode);
      expect([403, 404]).toContain(answer.statusCode);
      expect(answer.json().error).toBe(answer.statusCode === 403 ? 'FORBIDDEN' : 'NOT_FOUND');
    }
    expect(statuses).toContain(403);
  } finally {
    await app.close();
    await store.close();
  }
});
