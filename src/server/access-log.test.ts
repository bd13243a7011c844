/**
 * The access log never holds a token: a request no route matched shows its first path segment,
 * and a token pasted as the path (`curl hub/rl_…`) was that segment, written whole.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../core/config.js';
import { LiveFanout } from '../pipeline/live.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { buildApp } from './app.js';
import { newTokenSecret } from './auth/tokens.js';

let dataDir: string;
let store: SqliteStore;
let app: FastifyInstance;
const lines: string[] = [];
let url: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'runlog-access-'));
  store = new SqliteStore(':memory:');
  app = buildApp({ store, live: new LiveFanout(), config: { ...resolveHubConfig({ dataDir }), accessLog: true } }, { accessLog: (line) => lines.push(line) });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const logged = async (path: string) => {
  lines.length = 0;
  await (await fetch(`${url}${path}`)).text();
  for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(lines).toHaveLength(1);
  return (lines[0] as string).split(' ').slice(1, 4).join(' ');
};

it('shows an unmatched path by its first segment, never a token pasted as the path', async () => {
  const token = newTokenSecret();
  expect(await logged('/nowhere')).toBe('GET /nowhere 404');
  expect(await logged('/api/x/y?z=1')).toBe('GET /api/… 404');
  for (const path of [`/${token}`, `/${token}/more`, `/Bearer%20${token}`, `/token=${token}`]) {
    const line = await logged(path);
    expect(line).toBe('GET /… 404');
    expect(lines.join('\n')).not.toContain(token.slice(3, 20));
  }
  // long segments (a secret of another kind) are left out too
  expect(await logged(`/${'s'.repeat(40)}`)).toBe('GET /… 404');
});
