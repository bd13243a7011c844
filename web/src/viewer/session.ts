/**
 * RunLogSession: everything the log viewer knows about one run, and the only place that talks to
 * the hub for it. The component renders it; it never fetches.
 *
 * Positions, all in seq (the line's identity, docs/api.md):
 * - the window `lo < seq <= hi`: the lines held, paged at its edges (LogWindow, window.ts);
 * - the feed's `to`: the last seq the live stream delivered, from which the stream is gap-free
 *   (LiveFeed, live-feed.ts, which also batches live lines into a few renders a second);
 * - `attached`: the window reaches the live end, so live lines are appended to it. Otherwise they
 *   are only counted ("N new lines") and kept in the feed's `recent`, which joins a window that
 *   comes back.
 *
 * Here: what the user asks (a jump, a filter, following), where that puts the window, and the
 * state the component renders. The run's own status, polled or waited for, is RunWatch's.
 */
import { ApiError, isAbort, messageOf } from '../api/http.ts';
import { getRun, runLogs, type LineFilter, type LogPageQuery } from '../api/runs.ts';
import type { StreamState } from '../api/sse.ts';
import { FINAL_STATUSES, type LogPage, type ProgressUpdate, type Run } from '../api/types.ts';
import { isFiltered, matcher, NO_FILTER } from './filter.ts';
import type { LineStore } from './line-store.ts';
import { LiveFeed } from './live-feed.ts';
import { RunWatch } from './run-watch.ts';
import { LogWindow, PAGE } from './window.ts';
import { href } from '../router.ts';

export type ScrollRequest = { kind: 'top' } | { kind: 'bottom' } | { kind: 'seq'; seq: number };

export class RunLogSession {
  run: Run | null = null;
  filter: LineFilter = NO_FILTER;
  /** follow mode: stay at the bottom as lines arrive */
  following = true;
  /** lines that arrived (and match) since the view stopped following */
  newLines = 0;
  streamState: StreamState = 'closed';
  /** the line a #L link or an error jump asked for */
  target: number | null = null;
  /** a one-off message for the toolbar ("no more errors") */
  notice: string | null = null;
  error: string | null = null;
  loading = true;
  /** bumps on every change the component should render */
  version = 0;
  scrollRequest: ScrollRequest | null = null;
  // the window's lines and what they show (LogWindow); the live progress bars (LiveFeed)
  readonly store: LineStore;
  readonly phases: ReadonlySet<string>;
  readonly paths: ReadonlySet<string>;
  readonly loggers: ReadonlySet<string>;
  readonly progress: Map<string, ProgressUpdate>;

  private match = matcher(NO_FILTER);
  private readonly live: LiveFeed;
  private readonly window: LogWindow;
  private readonly abort = new AbortController();
  private readonly watch: RunWatch;
  private readonly listeners = new Set<() => void>();
  private disposed = false;
  /** what the user asks while the first load is on its way waits for it, then wins over it */
  private started: Promise<void> = Promise.resolve();

  constructor(readonly runId: string) {
    this.watch = new RunWatch(runId, this.abort.signal, {
      run: () => this.run,
      update: (run) => {
        this.run = run;
        this.changed();
      },
    });
    this.live = new LiveFeed(runId, {
      match: (line) => this.match(line),
      flush: () => this.flush(),
      end: (run) => this.onEnd(run),
      state: (state) => {
        this.streamState = state;
        this.changed();
      },
    });
    this.window = new LogWindow(this.live, {
      following: () => this.following,
      loading: () => this.loading,
      match: (line) => this.match(line),
      page: (query) => this.page(query),
      notice: (message) => {
        this.notice = message;
      },
      changed: () => this.changed(),
    });
    this.store = this.window.store;
    this.phases = this.window.phases;
    this.paths = this.window.paths;
    this.loggers = this.window.loggers;
    this.progress = this.live.progress;
  }

  get attached(): boolean {
    return this.window.attached;
  }

  get loadingOlder(): boolean {
    return this.window.loadingOlder;
  }

  get loadingNewer(): boolean {
    return this.window.loadingNewer;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads the run and its last lines (or the lines around `line`), then goes live. */
  start(filter: LineFilter, line: number | null): Promise<void> {
    this.started = this.begin(filter, line);
    return this.started;
  }

  /** The run is not there (404 at the start): the page starts over once it is (RunWatch.waitFor). */
  private waitForRun(filter: LineFilter, line: number | null): void {
    this.watch.waitFor(() => {
      if (this.disposed) return;
      this.error = null;
      this.loading = true;
      this.changed();
      void this.start(filter, line);
    });
  }

  private async begin(filter: LineFilter, line: number | null): Promise<void> {
    this.filter = filter;
    this.match = matcher(filter);
    try {
      const plain = !isFiltered(filter) && line === null;
      const [run, head] = await Promise.all([
        getRun(this.runId, this.abort.signal),
        // the hub's last seq, so that the stream starts exactly there; unfiltered, the tail is it
        this.page({ tail: plain ? PAGE : 1 }, NO_FILTER),
      ]);
      if (this.disposed) return;
      this.run = run;
      const last = head.logs[head.logs.length - 1]?.seq ?? 0;
      this.live.resetAt(last);
      this.live.open(this.run);
      this.watch.poll();
      if (plain) {
        this.window.showTail(head, last);
        this.scrollRequest = { kind: 'bottom' };
        this.loading = false;
        this.changed();
      } else if (line !== null) {
        await this.showLine(line);
      } else {
        await this.loadTail();
      }
    } catch (error) {
      this.fail(error);
      if (error instanceof ApiError && error.status === 404 && this.run === null && !this.disposed) this.waitForRun(filter, line);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.abort.abort();
    this.live.stop();
    this.watch.stop();
    this.live.cancelFlush();
    this.listeners.clear();
  }

  get ended(): boolean {
    return this.run !== null && FINAL_STATUSES.includes(this.run.status) && !this.live.streaming;
  }

  /**
   * The link to a line of this run, with the view's level (the URL holds it: RunPage), so that a
   * jump keeps it; not its search, which a jump to a line ends (showLine).
   */
  lineHref(seq: number): string {
    return `${href.run(this.runId, seq)}${this.filter.level === null ? '' : `?level=${this.filter.level}`}`;
  }

  /** Lines the hub has after the window, when it is not at the live end (for the marker). */
  get skippedAfter(): number {
    return this.attached ? 0 : Math.max(0, this.live.to - this.store.hi);
  }

  // --- what the component reports and asks -------------------------------------------------

  setFocus(index: number): void {
    this.window.focus = index;
  }

  setFollowing(following: boolean): void {
    if (this.following === following) return;
    this.following = following;
    if (following) this.newLines = 0;
    this.changed();
  }

  /** `f`: follow again means back to the live end; stop means stay here. */
  toggleFollow(): void {
    if (this.following) this.setFollowing(false);
    else void this.jumpToLive();
  }

  takeScrollRequest(): ScrollRequest | null {
    const request = this.scrollRequest;
    this.scrollRequest = null;
    return request;
  }

  async setFilter(filter: LineFilter): Promise<void> {
    if (filter.level === this.filter.level && filter.q === this.filter.q) return;
    await this.started;
    this.filter = filter;
    this.match = matcher(filter);
    this.target = null;
    await this.loadTail();
  }

  /** The live end, following (G, "N new lines"): a scroll when the window is there, else a load. */
  async jumpToLive(): Promise<void> {
    await this.started;
    if (this.attached && !this.loading) {
      this.following = true;
      this.newLines = 0;
      this.scrollRequest = { kind: 'bottom' };
      this.changed();
      return;
    }
    await this.loadTail();
  }

  /** Replaces the window with the last lines that match, attached to the live stream. */
  private async loadTail(): Promise<void> {
    await this.reload(async () => {
      const liveEnd = this.live.to;
      const page = await this.page({ tail: PAGE });
      return () => {
        this.window.showTail(page, liveEnd);
        this.following = true;
        this.newLines = 0;
        this.scrollRequest = { kind: 'bottom' };
      };
    });
  }

  /** The first lines of the run (g). */
  async jumpToStart(): Promise<void> {
    await this.started;
    if (this.store.lo === 0 && !this.loading) {
      this.following = false;
      this.scrollRequest = { kind: 'top' };
      this.changed();
      return;
    }
    await this.reload(async () => {
      const liveEnd = this.live.to;
      const page = await this.page({ after: 0, limit: PAGE });
      return () => {
        this.window.showHead(page, liveEnd);
        this.following = false;
        this.scrollRequest = { kind: 'top' };
      };
    });
  }

  /** Shows the line `seq` (a #L link, an error jump): in place if loaded, else the lines around it. */
  async goTo(seq: number): Promise<void> {
    await this.started;
    await this.showLine(seq);
  }

  private async showLine(seq: number): Promise<void> {
    this.target = seq;
    this.following = false;
    this.notice = null;
    // a search shows matches only: the line is shown in its context, so the search ends
    if (this.filter.q !== '') {
      this.filter = { ...this.filter, q: '' };
      this.match = matcher(this.filter);
    } else if (!this.loading && this.store.indexOf(seq) >= 0) {
      this.scrollRequest = { kind: 'seq', seq };
      this.changed();
      return;
    }
    await this.reload(async () => {
      const liveEnd = this.live.to;
      const [before, after] = await Promise.all([
        this.page({ before: seq, tail: PAGE / 2 }),
        this.page({ after: seq - 1, limit: PAGE / 2 }),
      ]);
      return () => {
        this.window.showAround(seq, before, after, liveEnd);
        this.scrollRequest = { kind: 'seq', seq };
      };
    });
  }

  /** The first ERROR-or-worse line, or the next (previous) one after (before) the line `from`. */
  async jumpToError(direction: 'first' | 'next' | 'previous', from: number): Promise<void> {
    const errors = { level: 'ERROR', q: '' } as const;
    try {
      const page =
        direction === 'first'
          ? await this.page({ after: 0, limit: 1 }, errors)
          : direction === 'next'
            ? await this.page({ after: from, limit: 1 }, errors)
            : await this.page({ before: from, tail: 1 }, errors);
      const found = page.logs[0];
      if (found === undefined) {
        this.notice = direction === 'first' ? 'no errors in this run' : `no ${direction === 'next' ? 'later' : 'earlier'} error`;
        this.changed();
        return;
      }
      location.hash = this.lineHref(found.seq);
    } catch (error) {
      if (!isAbort(error)) this.fail(error);
    }
  }

  /** The top marker is on screen: fetch the page before the window. */
  loadOlder(): Promise<void> {
    return this.window.loadOlder();
  }

  /** The bottom marker is on screen (the window left the live end): fetch the page after it. */
  loadNewer(): Promise<void> {
    return this.window.loadNewer();
  }

  // --- the live stream ---------------------------------------------------------------------

  private onEnd(run: Run): void {
    this.run = run;
    this.progress.clear();
    // the last lines now, in the same render as the end: never an end row above lines still pending
    this.live.cancelFlush();
    this.flush();
    // the hub closes the stream after `end`; closing it here stops the browser reconnecting
    this.live.stop();
    this.watch.stopPolling();
    this.changed();
  }

  /**
   * Live lines, batched (LiveFeed). Dropped while the window is being replaced: the new one takes
   * them from the feed's `recent` if it reaches the live end.
   */
  private flush(): void {
    if (this.disposed) return;
    const lines = this.live.take();
    if (!this.loading) this.newLines += this.window.applyLive(lines);
    this.changed();
  }

  // --- helpers -----------------------------------------------------------------------------

  /** Replaces the window with what `load` fetched; `load` returns the change to apply. */
  private async reload(load: () => Promise<() => void>): Promise<void> {
    const generation = ++this.window.generation;
    this.loading = true;
    this.notice = null;
    this.changed();
    try {
      const apply = await load();
      if (generation !== this.window.generation || this.disposed) return;
      apply();
      this.loading = false;
      this.error = null;
      this.changed();
    } catch (error) {
      if (generation === this.window.generation) this.fail(error);
    }
  }

  private page(query: LogPageQuery, filter: LineFilter = this.filter): Promise<LogPage> {
    return runLogs(this.runId, query, filter, this.abort.signal);
  }

  /** Re-reads the run now (after an action on it: a cancel request, a re-run); the stream's `end` still ends it. */
  refreshRun(): void {
    this.watch.refresh();
  }

  private fail(error: unknown): void {
    if (isAbort(error) || this.disposed) return;
    this.error = error instanceof ApiError && error.status === 404 ? notFound(this.runId, this.run === null) : messageOf(error);
    this.loading = false;
    this.changed();
  }

  private changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }
}

function notFound(id: string, waiting: boolean): string {
  return waiting ? `run ${id} not found: it is shown here once it is created` : `run ${id} not found`;
}
