/**
 * Live across hubs: LISTEN on channel `runlog` and publish to this hub's subscribers what other
 * processes committed (another hub, or a worker calling the seed's function itself).
 *
 * Notices are small, "<kind> <first> <last> <origin> <subject>", sent by triggers in the
 * committing transaction, so they arrive after the commit and in commit order:
 *   c <first_seq> <last_seq> <origin> <run>   lines of a run (run_chunks)
 *   s <first_id> <last_id> <origin> -         worker lines (system_logs rows)
 *   r 0 0 <origin> <run>                      a run was created, claimed, handed back or ended
 *   w 0 0 <origin> <worker>                   a worker's heartbeat
 *   t 0 0 <origin> -                          tokens were created, revoked or changed
 * The lines are read from the store, and only when this hub has a subscriber for them. A notice
 * this process caused (its own origin, the pool's application_name) is skipped: the hub that
 * ingested a line has published it already, once. Notices are handled one at a time, so a run's
 * last lines go out before its end.
 */
import pg from 'pg';
import { RUN_EVENTS, type LiveFanout } from '../../pipeline/live.js';
import { nowMicros } from '../../core/record.js';
import { FINAL_STATUSES } from '../store.js';
import type { PostgresStore } from './store.js';
import { recordFromSystemRow, systemLogFromRow } from './workers.js';

const RECONNECT_MS = 1000;
const READ_PAGE = 10_000;

export async function followNotices(
  store: PostgresStore,
  live: LiveFanout,
  onError: (message: string) => void = () => {},
  onTokensChanged: () => void = () => {},
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let queue: Promise<void> = Promise.resolve();

  const handle = async (payload: string): Promise<void> => {
    const [kind, first, last, origin, ...rest] = payload.split(' ');
    if (origin === store.origin) return;
    const subject = rest.join(' ');
    const low = Number(first);
    const high = Number(last);
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
    } else if (kind === 'r') {
      const run = await store.getRun(subject);
      if (run === undefined) return;
      live.publishRun(run);
      if (FINAL_STATUSES.includes(run.status)) live.publishEnd(run);
    } else if (kind === 't') {
      onTokensChanged();
    } else if (kind === 'w') {
      if (live.subscriberCount(RUN_EVENTS) === 0) return;
      const worker = await store.getWorker(subject, nowMicros());
      if (worker) live.publishWorker(worker);
    }
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: store.url, application_name: `${store.origin}-listen` });
    next.on('notification', (message) => {
      if (message.channel !== 'runlog' || message.payload === undefined) return;
      const payload = message.payload;
      queue = queue.then(() => handle(payload)).catch((error: unknown) => onError(`live notice ${payload}: ${(error as Error).message}`));
    });
    next.on('error', (error) => {
      onError(`LISTEN connection lost: ${error.message}; reconnecting`);
      void next.end().catch(() => {});
      if (client === next) client = undefined;
      if (!stopped) setTimeout(() => void connect().catch(() => {}), RECONNECT_MS).unref();
    });
    await next.connect();
    await next.query('LISTEN runlog');
    client = next;
    // a token revoked while this connection was away sent its notice to nobody
    onTokensChanged();
  };

  await connect();
  return async () => {
    stopped = true;
    await client?.end().catch(() => {});
    await queue;
  };
}
