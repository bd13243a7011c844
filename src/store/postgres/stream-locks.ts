/**
 * StreamLocks: one hub at a time numbers a stream's lines (OTLP, plain text, NDJSON without seq).
 *
 * A hub numbers such lines from the stream's last stored seq. Two hubs on one database reading the
 * same last seq would give two lines one seq, and the store keeps one of them: a line answered 200
 * and lost. So the numbering (read the last seq, store the numbered lines, commit) holds a session
 * advisory lock on the stream, on a connection of its own, outside the pool.
 *
 * Why try-locks on one connection, polled: a blocking `pg_advisory_lock` would stall the connection
 * for every other stream, and the unlock of a stream this hub holds would queue behind it (two hubs
 * each waiting on the other: a deadlock). Why not a pool connection per lock: a lock held while the
 * numbered lines are written through the pool could take the last connection the write needs.
 *
 * The connection runs one query at a time (a chain of promises): pg queues concurrent ones itself,
 * but says that use is deprecated (pg 9 refuses it).
 *
 * What a crash leaves: nothing; a session lock ends with its connection. A connection that breaks
 * while a lock is held loses the lock: the store still keeps one line per seq, so the worst case is
 * the old one (lines of two requests racing in that moment), never a line stored twice.
 */
import pg from 'pg';

const POLL_FIRST_MS = 2;
const POLL_MAX_MS = 50;

export class StreamLocks {
  private connection: Promise<pg.Client> | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly applicationName: string,
  ) {}

  /** Waits until this process holds `stream`'s numbering lock; resolves with its release. */
  async lock(stream: string): Promise<() => Promise<void>> {
    for (let wait = POLL_FIRST_MS; ; wait = Math.min(wait * 2, POLL_MAX_MS)) {
      const { client, ok } = await this.oneAtATime(async () => {
        const connected = await this.client();
        const { rows } = await connected.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 13)) AS ok', [stream]);
        return { client: connected, ok: rows[0]?.ok === true };
      });
      if (ok) {
        return async () => {
          // on the connection that holds it; a broken connection has let the lock go already
          await this.oneAtATime(() => client.query('SELECT pg_advisory_unlock(hashtextextended($1, 13))', [stream])).catch(() => {});
        };
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await (await connection.catch(() => undefined))?.end().catch(() => {});
  }

  private oneAtATime<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => {});
    return result;
  }

  private client(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    if (this.connection === undefined) {
      const client = new pg.Client({ connectionString: this.url, application_name: `${this.applicationName}-locks` });
      const forget = () => {
        if (this.connection === pending) this.connection = undefined;
      };
      client.on('error', forget);
      client.on('end', forget);
      const pending: Promise<pg.Client> = client.connect().then(
        () => client,
        (error: unknown) => {
          forget();
          throw error;
        },
      );
      this.connection = pending;
    }
    return this.connection;
  }
}
