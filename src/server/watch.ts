/**
 * ChangeWatcher: a hub's live viewers see what other processes write to its store.
 *
 * The hub publishes what it commits itself. Another process may write the same SQLite file (a
 * `runlog run --hub none` beside it, a tool): SQLite's `PRAGMA data_version` changes when another
 * connection commits, and every `intervalMs` (200 ms) the watcher asks. When it changed, it reads
 * the new lines of each followed stream, after the position of its subscribers (see
 * LiveFanout.followedStreams; subscribers drop what they already have, by seq), and compares the
 * active and recent runs with its picture of them: a run created, claimed, cancelled or ended
 * elsewhere is published, an end after the lines before it.
 */
import type { LiveFanout } from '../pipeline/live.js';
import { FINAL_STATUSES, type Run, type Store } from '../store/store.js';

const PAGE = 1000;
/** pages read per stream per tick; a stream with more is read on at the next tick */
const PAGES_PER_TICK = 10;
/** the newest runs compared on each change, beside every queued and running one */
const RECENT_RUNS = 50;

export class ChangeWatcher {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** a run's published state by id (active and recent runs only) */
  private known = new Map<string, string>();
  /** streams already read once since they were first followed */
  private seen = new Set<string>();
  /** streams with lines left to read */
  private pending = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly live: LiveFanout,
    private readonly intervalMs = 200,
    private readonly log: (message: string) => void = () => {},
  ) {}

  async start(): Promise<void> {
    if (this.store.changedElsewhere === undefined) return; // a store that cannot tell
    await this.store.changedElsewhere();
    await this.scanRuns(false);
    this.live.onRunPublished = (run) => this.known.set(run.id, stateOf(run));
    this.timer = setInterval(() => void this.tick(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.live.onRunPublished = undefined;
  }

  /** One look: new lines of the followed streams, then the runs, when another connection committed. */
  async tick(): Promise<void> {
    if (this.busy || this.store.changedElsewhere === undefined) return;
    this.busy = true;
    try {
      const changed = await this.store.changedElsewhere();
      const followed = this.followed();
      for (const stream of this.seen) if (!followed.has(stream)) this.seen.delete(stream);
      for (const [stream, after] of followed) {
        if (!changed && this.seen.has(stream) && !this.pending.has(stream)) continue;
        this.seen.add(stream);
        await this.publishLines(stream, after, PAGES_PER_TICK);
      }
      if (changed) await this.scanRuns(true);
    } catch (error) {
      this.log(`change watcher: ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private followed(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [stream, after] of this.live.followedStreams()) if (!stream.startsWith('#')) out.set(stream, after);
    return out;
  }

  private async publishLines(stream: string, after: number, pages: number): Promise<void> {
    for (let page = 0; page < pages; page++) {
      const records = await this.store.readLogs(stream, after, PAGE);
      this.live.publishRecords(stream, records);
      if (records.length < PAGE) {
        this.pending.delete(stream);
        return;
      }
      after = records[records.length - 1]!.seq;
    }
    this.pending.add(stream);
  }

  /** Publishes the runs whose state differs from what was last published; `publish` false: only learn them. */
  private async scanRuns(publish: boolean): Promise<void> {
    const runs = new Map<string, Run>();
    for (const status of ['queued', 'running'] as const) for (const run of await this.store.listRuns({ status, limit: 10_000 })) runs.set(run.id, run);
    for (const run of await this.store.listRuns({ limit: RECENT_RUNS })) runs.set(run.id, run);
    // an active run we knew that is no longer among these: ended (or deleted) elsewhere
    for (const [id, state] of this.known) {
      if (runs.has(id) || !state.startsWith('queued') && !state.startsWith('running')) continue;
      const run = await this.store.getRun(id);
      if (run) runs.set(id, run);
    }
    const before = this.known;
    this.known = new Map();
    for (const run of runs.values()) {
      const state = stateOf(run);
      this.known.set(run.id, state);
      if (!publish || before.get(run.id) === state) continue;
      if (FINAL_STATUSES.includes(run.status)) {
        // the last lines before the end: a viewer closes on `end`
        const after = this.followed().get(run.id);
        if (after !== undefined) await this.publishLines(run.id, after, Number.POSITIVE_INFINITY);
        this.live.publishEnd(run);
      }
      this.live.publishRun(run);
    }
  }
}

/** What a change of is worth publishing: status and the cancel request and lost marks. */
function stateOf(run: Run): string {
  return `${run.status}|${run.cancel_requested_by ?? ''}|${run.lost ? 'lost' : ''}`;
}
