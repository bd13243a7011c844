/**
 * Live across hubs: LISTEN on channel `runlog` and publish to this hub's subscribers what other
 * processes committed (another hub, or a worker calling the seed's function itself).
 *
 * Notices are small, "<kind> <first> <last> <origin> <subject>", sent by triggers in the
 * committing transaction, so they arrive after the commit and in commit order:
 *   c <first_seq> <last_seq> <origin> <run>   lines of a run (run_chunks)
 *   s <first_id> <last_id> <origin> -         worker lines (system_logs rows)
 *   r 0 0 <origin> <run>                      a run was created, claimed, handed back or ended
 *   d 0 0 <origin> <run>                      a run was deleted (DELETE /api/runs/:id; retention sends none)
 *   w 0 0 <origin> <worker>                   a worker's heartbeat
 *   t 0 0 <origin> -                          tokens were created, revoked or changed
 * The lines are read from the store, and only when this hub has a subscriber for them. A notice
 * this process caused (its own origin, the pool's application_name) is skipped: the hub that
 * ingested a line has published it already, once. Notices are handled one at a time, so a run's
 * last lines go out before its end.
 *
 * A notice sent while the LISTEN connection is down reaches nobody (PostgreSQL keeps none for a
 * listener that is gone). So after a reconnect the hub catches up from the store, which is the
 * truth: every followed stream is read after its viewers' last seq, the worker lines whose
 * notices it missed (system_logs ids no notice told of: SeenIds) go to the logs page's streams
 * (which have no seq to resume by), and the runs they watch are published again (an end included). Without it a viewer missed the gap's lines until the next
 * notice, or for good when the run went quiet.
 */
import pg from 'pg';
import { RUN_EVENTS, type LiveFanout } from '../../pipeline/live.js';
import { nowMicros } from '../../core/record.js';
import { FINAL_STATUSES, type Run } from '../store.js';
import type { PostgresStore } from './store.js';
import { recordFromSystemRow, systemLogFromRow } from './workers.js';
import { SeenIds } from './seen-ids.js';

const RECONNECT_MS = 1000;
const READ_PAGE = 10_000;
/** the newest runs published again to the runs page after a gap */
const RECENT_RUNS = 50;

export async function followNotices(
  store: PostgresStore,
  live: LiveFanout,
  onError: (message: string) => void = () => {},
  onTokensChanged: () => void = () => {},
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let queue: Promise<void> = Promise.resolve();
  /** the system_logs ids notices told of (from any origin): a catch-up reads the others */
  let seen: SeenIds | undefined;

  /** Worker lines (system_logs rows `low`…`high`) to this hub's subscribers of them. */
  const publishSystemRows = async (low: number, high: number): Promise<void> => {
    if (live.subscriberCount() === 0) return;
    for (let from = low; from <= high; ) {
      const all = await store.systemLogRows(from, high);
      // a worker's lines only (an adopted database's other rows, an orchestrator's say, are not runlog's)
      const rows = all.filter((row) => row.source_type === 'worker');
      const byStream = new Map<string, ReturnType<typeof recordFromSystemRow>[]>();
      for (const row of rows) {
        const record = recordFromSystemRow(row);
        const records = byStream.get(record.stream);
        if (records === undefined) byStream.set(record.stream, [record]);
        else records.push(record);
      }
      for (const [stream, records] of byStream) live.publishRecords(stream, records);
      live.publishSystemLines(rows.map(systemLogFromRow));
      const lastRow = all[all.length - 1];
      if (lastRow === undefined || all.length < READ_PAGE) break;
      from = Number(lastRow.id) + 1;
    }
  };

  const handle = async (payload: string): Promise<void> => {
    const [kind, first, last, origin, ...rest] = payload.split(' ');
    const subject = rest.join(' ');
    const low = Number(first);
    const high = Number(last);
    if (kind === 's') seen?.add(low, high);
    if (origin === store.origin) return;
    if (kind === 'c') {
      if (live.subscriberCount(subject) === 0) return;
      for (let after = low - 1; after < high; ) {
        const records = (await store.readLogs(subject, after, Math.min(READ_PAGE, high - after))).filter((r) => r.seq <= high);
        live.publishRecords(subject, records);
        const next = records[records.length - 1]?.seq;
        if (next === undefined) break;
        after = next;
      }
    } else if (kind === 's') {
      await publishSystemRows(low, high);
    } else if (kind === 'r') {
      const run = await store.getRun(subject);
      if (run === undefined) return;
      live.publishRun(run);
      if (FINAL_STATUSES.includes(run.status)) live.publishEnd(run);
    } else if (kind === 'd') {
      live.publishRunDeleted(subject);
    } else if (kind === 't') {
      onTokensChanged();
    } else if (kind === 'w') {
      if (live.subscriberCount(RUN_EVENTS) === 0) return;
      const worker = await store.getWorker(subject, nowMicros());
      if (worker) live.publishWorker(worker);
    }
  };

  const enqueue = (what: string, work: () => Promise<void>): void => {
    queue = queue.then(work).catch((error: unknown) => onError(`${what}: ${(error as Error).message}`));
  };

  const connect = async (reconnecting: boolean): Promise<void> => {
    const next = new pg.Client({ connectionString: store.url, application_name: `${store.origin}-listen` });
    next.on('notification', (message) => {
      if (message.channel !== 'runlog' || message.payload === undefined) return;
      const payload = message.payload;
      enqueue(`live notice ${payload}`, () => handle(payload));
    });
    const lost = (why: string): void => {
      void next.end().catch(() => {});
      // lost while connecting: connect's caller retries (once, not twice)
      if (client !== next || stopped) return;
      client = undefined;
      onError(`LISTEN connection lost: ${why}; reconnecting`);
      retry();
    };
    next.on('error', (error) => lost(error.message));
    next.on('end', () => lost('the server closed it'));
    let storedHigh: number;
    try {
      await next.connect();
      await next.query('LISTEN runlog');
      // read once listening: a row committed before is at most this, one committed after sends a notice
      storedHigh = Number((await next.query<{ id: string }>('SELECT COALESCE(max(id), 0) AS id FROM system_logs')).rows[0]?.id ?? 0);
    } catch (error) {
      void next.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
    // a token revoked while this connection was away sent its notice to nobody
    onTokensChanged();
    // queued behind nothing new: notices from now on come after it, and duplicates are dropped by
    // seq (a run's, a worker's stream) or by id (the worker lines of the logs page: publishSystemLines)
    if (!reconnecting) seen = new SeenIds(storedHigh);
    else
      enqueue('catch-up after reconnect', async () => {
        await catchUp(store, live);
        // worker lines stored in the gap, for the logs page's streams too (they have no seq to resume by)
        for (const [low, high] of seen?.takeMissing(storedHigh) ?? []) await publishSystemRows(low, high);
      });
  };

  // until it is back: a database still away at the first try is tried again, not given up on
  const retry = (): void => {
    if (stopped) return;
    setTimeout(() => {
      if (stopped) return;
      connect(true).catch((error: unknown) => {
        onError(`LISTEN reconnect failed: ${(error as Error).message}; trying again`);
        retry();
      });
    }, RECONNECT_MS).unref();
  };

  await connect(false);
  return async () => {
    stopped = true;
    await client?.end().catch(() => {});
    await queue;
  };
}

/** After a gap in the notices: what the watched streams and runs missed, read from the store. */
async function catchUp(store: PostgresStore, live: LiveFanout): Promise<void> {
  for (const [stream, from] of live.followedStreams()) {
    if (stream.startsWith('#')) continue;
    for (let after = from; ; ) {
      const records = await store.readLogs(stream, after, READ_PAGE);
      live.publishRecords(stream, records);
      if (records.length < READ_PAGE) break;
      after = records[records.length - 1]!.seq;
    }
  }
  // after the lines: a viewer (or a task's response waiting for its end) closes on `end`
  const runs = new Map<string, Run>();
  for (const stream of live.watchedStreams()) {
    const run = await store.getRun(stream);
    if (run !== undefined) runs.set(run.id, run);
  }
  // the runs page: runs created, claimed or ended meanwhile
  if (live.subscriberCount(RUN_EVENTS) > 0) for (const run of await store.listRuns({ limit: RECENT_RUNS })) runs.set(run.id, run);
  for (const run of runs.values()) {
    live.publishRun(run);
    if (FINAL_STATUSES.includes(run.status)) live.publishEnd(run);
  }
}
