/**
 * /healthz of a hub whose PostgreSQL goes away for longer than the token guard's cache of "do
 * tokens exist" (2 s). The guard used to ask the store that before every route, /healthz
 * included: with the database gone, /healthz answered the API's 503 STORE_UNAVAILABLE instead of
 * its own `{ok: false, store: "unreachable"}`; with the database hung, it answered nothing at all
 * (the guard's query waited on the hung connection), so a runner's probe took the hub for absent.
 * The database goes away for real: the hub reaches it through a TCP proxy that this test cuts
 * (connections destroyed, new ones refused) or freezes (bytes no longer passed on).
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answers } from '../src/cli/hub-client.js';
import { DEFAULTS } from '../src/core/config.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { tempDir, waitFor } from './helpers.js';
import { createTestDatabase, describeWithPostgres, PG_BASE, type TestDatabase } from './postgres.js';

/** Where the test's PostgreSQL listens: the socket of PG_BASE's ?host=, else its host and port. */
function upstream(): net.NetConnectOpts {
  const url = new URL(PG_BASE.replace(/^postgres(ql)?:\/\/([^@/]*@)?\//, 'postgres://$2localhost/'));
  const socketDir = url.searchParams.get('host');
  const port = Number(url.port || 5432);
  if (socketDir !== null) return { path: `${socketDir}/.s.PGSQL.${port}` };
  return { host: url.hostname, port };
}

/** A TCP proxy in front of PostgreSQL: `cut()` ends every connection and refuses new ones; `freeze()` stops passing bytes. */
class Proxy {
  private readonly sockets = new Set<net.Socket>();
  private mode: 'open' | 'cut' | 'frozen' = 'open';
  private readonly server = net.createServer((client) => {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {});
    if (this.mode === 'cut') return void client.destroy();
    if (this.mode === 'frozen') return; // accepted, never answered: a host that hangs
    const server = net.connect(upstream());
    this.sockets.add(server);
    server.on('close', () => this.sockets.delete(server));
    server.on('error', () => client.destroy());
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    for (const [from, to] of [[client, server], [server, client]] as const) {
      from.on('data', (chunk: Buffer) => {
        if (this.mode === 'open') to.write(chunk); // frozen: what is said is lost, as on a hung host
      });
    }
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  cut(): void {
    this.mode = 'cut';
    for (const socket of this.sockets) socket.destroy();
  }
  freeze(): void {
    this.mode = 'frozen';
  }
  open(): void {
    this.mode = 'open';
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TOKEN_COUNT_CACHE_MS = 2_000; // auth/cache.ts COUNT_TTL_MS

describeWithPostgres('/healthz of a hub whose PostgreSQL is away longer than the guard caches', () => {
  let database: TestDatabase;
  let hub: RunningHub;
  const proxy = new Proxy();
  beforeAll(async () => {
    database = await createTestDatabase();
    await proxy.start();
    const db = `postgres://${encodeURIComponent(process.env.USER ?? 'root')}@127.0.0.1:${proxy.port}/${database.name}`;
    // through the proxy only when PG_BASE is the local socket (peer auth holds for the proxy's connections)
    hub = await startHub({ db: PG_BASE.includes('host=/') ? db : database.url, host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
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
      const started = Date.now();
      const answer = await health();
      expect(Date.now() - started).toBeLessThan(DEFAULTS.hubProbeMs);
      expect(answer.body).toMatchObject({ ok: answer.status === 200, store: 'slow' });
      // what `runlog run` asks of the default hub, with its own timeout
      expect(await answers(hub.url)).toBe(true);
    } finally {
      proxy.cut(); // the hung connections end: the pool opens new ones once the proxy is open again
      proxy.open();
    }
    await waitFor(async () => (await health()).status === 200 || undefined, 15_000, '/healthz ok again');
  });
});
