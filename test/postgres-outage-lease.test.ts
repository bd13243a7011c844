/**
 * A hub whose PostgreSQL was away longer than 3 leases: its writers' renewals were answered 503
 * meanwhile, so the first housekeeping pass once the database was back failed every running run
 * as "runner lost", though their runners were alive and retrying (a `logs -f` viewer ended there,
 * `submit --wait` reported a failure, and the run completed later). The hub now counts silence
 * from the store's last failure, as it does from its own start; a writer that stays silent after
 * that is still failed. The database goes away for real, through a TCP proxy the test cuts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { Run } from '../src/store/store.js';
import { tempDir, waitFor } from './helpers.js';
import { PgProxy } from './pg-proxy.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WRITER = 'outage-writer-key';

describeWithPostgres('a hub whose PostgreSQL was away longer than 3 leases', () => {
  let database: TestDatabase;
  let hub: RunningHub;
  const proxy = new PgProxy();
  beforeAll(async () => {
    database = await createTestDatabase();
    await proxy.start();
    // housekeeping only when the test calls it
    hub = await startHub({ db: proxy.url(database), host: '127.0.0.1', port: 0, dataDir: tempDir(), housekeepingMs: 3_600_000 }, { audit: () => {} });
  });
  afterAll(async () => {
    proxy.open();
    await hub?.close();
    await proxy.close();
    await database?.drop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-runlog-writer': WRITER }, body: JSON.stringify(body) });
  const run = async () => (await (await fetch(`${hub.url}/api/runs/outage`)).json()) as Run;

  it('does not fail a run whose writer renewed through the outage as lost, and still fails one silent after it', async () => {
    expect((await post('/api/runs', { id: 'outage', lease_s: 1 })).status).toBe(201);
    proxy.cut();
    // the writer keeps renewing, every lease, and is refused: the store is away for 4 leases
    for (let i = 0; i < 4; i++) {
      expect((await post('/api/runs/outage/lease', {})).status).toBe(503);
      await sleep(1_000);
    }
    proxy.open();
    await waitFor(async () => (await fetch(`${hub.url}/healthz`)).status === 200 || undefined, 15_000, 'the store back');
    // the first pass once the store is back, before the writer's next renewal
    expect(await hub.housekeeping.failRunsOfLostWriters()).toBe(0);
    expect(await run()).toMatchObject({ status: 'running', lost: false });
    // silent for 3 leases after the store came back: lost, as always
    await sleep(3_500);
    expect(await hub.housekeeping.failRunsOfLostWriters()).toBe(1);
    expect(await run()).toMatchObject({ status: 'failed', lost: true, error_message: expect.stringMatching(/^runner lost/) });
  });
});
