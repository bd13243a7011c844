/**
 * WorkerGaps: the stored lines of a worker a live viewer's gap leaves out, read once for every
 * viewer at that point.
 *
 * Why gaps: on a database several processes write (PostgreSQL), a hub publishes its own
 * heartbeats' lines at once after their commit, and other writers' lines (the seeds'
 * `func_worker_heartbeat_with_logs`, another hub) when their notice comes, read from the store
 * later: one worker's lines can reach the hub's viewers out of seq order. Seqs are given in commit
 * order, under the worker's lock (store/postgres/function-seqs.ts), so every line below a
 * committed one is stored already: a viewer that gets a line past a gap reads the gap here, sends
 * it, then the line (SubscriberStream.deliverLine), and drops the late ones as seen.
 *
 * Viewers of one worker usually stand at the same seq: one read serves them all.
 */
import type { Store } from '../store/store.js';
import type { SystemLog } from '../store/store.js';
import { systemLogFromRecord } from '../store/rows.js';

const PAGE = 1000;

/** The stored lines of `stream` after seq `after` up to `upTo`, in seq order. */
export type GapReader = (after: number, upTo: number) => Promise<SystemLog[]>;

export class WorkerGaps {
  private readonly reading = new Map<string, Promise<SystemLog[]>>();

  constructor(private readonly store: Store) {}

  /** A reader of `stream`'s gaps, or undefined where one process writes the store (its lines are published in order). */
  readerFor(stream: string): GapReader | undefined {
    if (this.store.lockStream === undefined) return undefined;
    return (after, upTo) => {
      const key = `${stream} ${after} ${upTo}`;
      let read = this.reading.get(key);
      if (read === undefined) {
        read = this.read(stream, after, upTo).finally(() => this.reading.delete(key));
        this.reading.set(key, read);
      }
      return read;
    };
  }

  private async read(stream: string, after: number, upTo: number): Promise<SystemLog[]> {
    const lines: SystemLog[] = [];
    for (let from = after; from < upTo; ) {
      const limit = Math.min(PAGE, upTo - from);
      const page = await this.store.readLogs(stream, from, limit);
      for (const record of page) if (record.seq <= upTo) lines.push(systemLogFromRecord(record));
      if (page.length < limit) break;
      from = page[page.length - 1]!.seq;
    }
    return lines;
  }
}
