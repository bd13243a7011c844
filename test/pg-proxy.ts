/**
 * A TCP proxy between a hub and the test's PostgreSQL, to take the database away for real: cut
 * (connections ended, new ones refused) or frozen (bytes no longer passed on, as a hung host).
 */
import net from 'node:net';
import { PG_BASE, type TestDatabase } from './postgres.js';

/** Where the test's PostgreSQL listens: the socket of PG_BASE's ?host=, else its host and port. */
function upstream(): net.NetConnectOpts {
  const url = new URL(PG_BASE.replace(/^postgres(ql)?:\/\/([^@/]*@)?\//, 'postgres://$2localhost/'));
  const socketDir = url.searchParams.get('host');
  const port = Number(url.port || 5432);
  if (socketDir !== null) return { path: `${socketDir}/.s.PGSQL.${port}` };
  return { host: url.hostname, port };
}

/** A TCP proxy in front of PostgreSQL: `cut()` ends every connection and refuses new ones; `freeze()` stops passing bytes. */
export class PgProxy {
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

  /** `database`'s URL through the proxy (as PG_BASE's user: peer auth holds for the proxy's socket connections) */
  url(database: TestDatabase): string {
    if (!PG_BASE.includes('host=/')) return database.url; // a remote test server: no proxy in between
    return `postgres://${encodeURIComponent(process.env.USER ?? 'root')}@127.0.0.1:${this.port}/${database.name}`;
  }

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

