/**
 * /healthz of a hub whose PostgreSQL goes away for longer than the token guard's cache of "do
 * tokens exist" (2 s). The guard used to ask the store that before every route, /healthz
 * included: with the database gone, /healthz answered the API's 503 STORE_UNAVAILABLE instead of
 * its own `{ok: false, store: "unreachable"}`; with the database hung, it answered nothing at all
 * (the guard's query waited on the hung connection), so a runner's probe took the hub for absent.
 * The database goes away for real: the hub reaches it through a TCP proxy that this test cuts
 * (connections destroyed, new ones refused) or freezes (bytes no longer passed on).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answers } from '../src/cli/hub-client.js';
import { DEFAULTS } from '../src/core/config.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { tempDir, waitFor } from './helpers.js';
import { PgProxy } from './pg-proxy.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TOKEN_COUNT_CACHE_MS = 2_000; // auth/cache.ts COUNT_TTL_MS

describeWithPostgres('/healthz of a hub whose PostgreSQL is away longer than the guard caches', () => {
  let database: TestDatabase;
  let hub: RunningHub;
  const proxy = new PgProxy();
  beforeAll(async () => {
    database = await createTestDatabase();
    await proxy.start();
    hub = await startHub({ db: proxy.url(database), host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
  });
  afterAll(async () => {
    proxy.open();
    await hub?.close();
    await proxy.close();
    await database?.drop();
  });

  const health = async () => {
    const response = await fetch(`${hub.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers its own 503 "store unreachable" with the database cut off, and 200 once it is back', async () => {
    expect(await health()).toMatchObject({ status: 200, body: { ok: true, store: 'ok' } });
    proxy.cut();
    await sleep(TOKEN_COUNT_CACHE_MS + 500);
    expect(await health()).toMatchObject({ status: 503, body: { ok: false, store: 'unreachable', error: expect.stringMatching(/^store unreachable: /) } });
    // the API itself still answers 503 STORE_UNAVAILABLE
    expect((await fetch(`${hub.url}/api/runs`)).status).toBe(503);
    proxy.open();
    await waitFor(async () => (await health()).status === 200 || undefined, 15_000, '/healthz ok again');
  });

  it('answers store "slow" within a runner probe with the database hung', async () => {
    expect(await health()).toMatchObject({ status: 200, body: { ok: true, store: 'ok' } });
    proxy.freeze();
    try {
      await sleep(TOKEN_COUNT_CACHE_MS + 500);
      const answer = await health();
      expect(answer.body).toMatchObject({ ok: answer.status === 200, store: 'slow' });
      // what `runlog run` asks of the default hub, with its own timeout (DEFAULTS.hubProbeMs): the
      // behaviour that matters, not a wall-clock figure of the request above (607 ms at load 10)
      expect(await answers(hub.url, DEFAULTS.hubProbeMs)).toBe(true);
    } finally {
      proxy.cut(); // the hung connections end: the pool opens new ones once the proxy is open again
      proxy.open();
    }
    await waitFor(async () => (await health()).status === 200 || undefined, 15_000, '/healthz ok again');
  });
});
