/** For tests (a .case.ts: not built into dist): a hub app on an in-memory SQLite store, made before each test and closed after it. */
import { afterEach, beforeEach } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../core/config.js';
import { LiveFanout } from '../pipeline/live.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { buildApp } from './app.js';

/** The app of the running test (call it inside a test or a hook). */
export function appPerTest(): () => FastifyInstance {
  let app: FastifyInstance | undefined;
  let store: SqliteStore | undefined;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
    app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({}) });
  });
  afterEach(async () => {
    await app?.close();
    await store?.close();
  });
  return () => app!;
}
