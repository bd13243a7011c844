/**
 * RunLogSession: everything the log viewer knows about one run, and the only place that talks to
 * the hub for it. The component renders it; it never fetches.
 *
 * Positions, all in seq (the line's identity, docs/api.md):
 * - the store's window `lo < seq <= hi` (see line-store.ts);
 * - `sseTo`: the last seq the live stream delivered. The stream opens with `?after=<the last seq
 *   the hub had>`, so from there on it is gap-free, and the browser resumes it with Last-Event-ID.
 * - `attached`: the window reaches the live end, so live lines are appended to it. Otherwise they
 *   are only counted ("N new lines") and kept in `recent`, which joins a window that comes back.
 *
 * Rendering is batched (issue 4: a few renders a second at most): live lines wait in `pending`
 * and are applied at most every FLUSH_MS, on an animation frame.
 */
import { ApiError, isAbort, messageOf } from '../api/http.ts';
import { getRun, runLogs, runStreamUrl, type LineFilter, type LogPageQuery } from '../api/runs.ts';
import { LiveStream, type StreamState } from '../api/sse.ts';
import { FINAL_STATUSES, type LogLine, type LogPage, type ProgressUpdate, type Run } from '../api/types.ts';
import { isFiltered, matcher, NO_FILTER } from './filter.ts';
import { LineStore } from './line-store.ts';
import { RecentLines } from './recent.ts';
import { href } from '../router.ts';

/** lines per page fetched (the tail on open, and each page up or down) */
export const PAGE = 1_000;
/**
 * Lines kept while following: the view shows only the newest, and each batch of live lines costs
 * a pass over all that are kept (rows, positions), so fewer keeps the page smooth at thousands of
 * lines a second. Scrolling up fetches older ones again, up to the store's cap.
 */
export const FOLLOW_CAP = 10_000;
/** a render at most this often while lines pour in: ≤ 4 a second */
const FLUSH_MS = 250;
/** how often to re-read a run that has not ended (queued → running is not on the log stream) */
const RUN_POLL_MS = 5_000;

export type ScrollRequest = { kind: 'top' } | { kind: 'bottom' } | { kind: 'seq'; seq: number };

export class RunLogSession {
  readonly store = new LineStore();
  run: Run | null = null;
  filter: LineFilter = NO_FILTER;
  /** follow mode: stay at the bottom as lines arrive */
  following = true;
  attached = false;
  /** lines that arrived (and match) since the view stopped following */
  newLines = 0;
  /** live progress bars by source, shown in place at the live end */
  readonly progress = new Map<string, ProgressUpdate>();
  /** phases seen in this run so far: headers show once there is more than `run` */
  readonly phases = new Set<string>();
  /** the files lines came from (`runlog follow`, attrs.path): named on each row once there are two */
  readonly paths = new Set<string>();
  /** the loggers lines came from (Python's logging, the SDKs): named on each row once there are two */
  readonly loggers = new Set<string>();
  streamState: StreamState = 'closed';
  /** the line a #L link or an error jump asked for */
  target: number | null = null;
  /** a one-off message for the toolbar ("no more errors") */
  notice: string | null = null;
  error: string | null = null;
  loading = true;
  loadingOlder = false;
  loadingNewer = false;
  /** bumps on every change the component should render */
  version = 0;
  scrollRequest: ScrollRequest | null = null;

  private sseTo = 0;
  private readonly recent = new RecentLines();
  private pending: LogLine[] = [];
  private match = matcher(NO_FILTER);
  private stream: LiveStream | null = null;
  /** bumps when the window is replaced: answers to older requests are dropped */
  private generation = 0;
  /** the line index in the middle of the screen: trimming drops the other end */
  private focus = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private flushFrame: number | null = null;
  private lastFlush = 0;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  /** the hub's events, while the run does not exist yet (waitForRun) */
  private waiting: LiveStream | null = null;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<() => void>();
  private disposed = false;
  /** what the user asks while the first load is on its way waits for it, then wins over it */
  private started: Promise<void> = Promise.resolve();

  constructor(readonly runId: string) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads the run and its last lines (or the lines around `line`), then goes live. */
  start(filter: LineFilter, line: number | null): Promise<void> {
    this.started = this.begin(filter, line);
    return this.started;
  }

  /**
   * The run is not there (404 at the start): it may be about to be (a link opened before
   * `runlog follow --run X`, a Python handler, OTLP or a /text upload creates it). The hub's
   * events say when a run is created (the Runs page's live list): the page starts over then. Not
   * a poll, which would put a 404 in the console every few seconds; asked once more each time the
   * events stream (re)opens, for a run created while it was not there to say so.
   */
  private waitForRun(filter: LineFilter, line: number | null): void {
    if (this.waiting !== null) return;
    const appeared = () => {
      if (this.disposed || this.waiting === null) return;
      this.waiting.stop();
      this.waiting = null;
      this.error = null;
      this.loading = true;
      this.changed();
      void this.start(filter, line);
    };
    this.waiting = new LiveStream(
      () => 'api/events',
      { run: (data) => (data as Run | null)?.id === this.runId && appeared() },
      (state) => {
        if (state === 'open') getRun(this.runId, this.abort.signal).then(appeared, () => {});
      },
    );
    this.waiting.start();
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
      this.sseTo = last;
      this.recent.reset(last);
      this.openStream();
      this.pollRun();
      if (plain) {
        this.replace(head.logs, head.truncated ? head.logs[0]!.seq - 1 : 0, last);
        this.attach();
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
    this.stream?.stop();
    this.stream = null;
    this.waiting?.stop();
    this.waiting = null;
    this.cancelFlush();
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.listeners.clear();
  }

  get ended(): boolean {
    return this.run !== null && FINAL_STATUSES.includes(this.run.status) && this.stream === null;
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
    return this.attached ? 0 : Math.max(0, this.sseTo - this.store.hi);
  }

  // --- what the component reports and asks -------------------------------------------------

  setFocus(index: number): void {
    this.focus = index;
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
      const liveEnd = this.sseTo;
      const page = await this.page({ tail: PAGE });
      return () => {
        this.replace(page.logs, page.truncated ? page.logs[0]!.seq - 1 : 0, Math.max(liveEnd, lastSeq(page) ?? 0));
        this.attach();
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
      const liveEnd = this.sseTo;
      const page = await this.page({ after: 0, limit: PAGE });
      return () => {
        this.replace(page.logs, 0, page.truncated ? lastSeq(page)! : Math.max(liveEnd, lastSeq(page) ?? 0));
        if (!page.truncated) this.attach();
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
      const liveEnd = this.sseTo;
      const [before, after] = await Promise.all([
        this.page({ before: seq, tail: PAGE / 2 }),
        this.page({ after: seq - 1, limit: PAGE / 2 }),
      ]);
      return () => {
        const lo = before.truncated ? before.logs[0]!.seq - 1 : 0;
        const hi = after.truncated ? lastSeq(after)! : Math.max(liveEnd, lastSeq(after) ?? seq);
        this.replace(before.logs.concat(after.logs), lo, hi);
        if (!after.truncated) this.attach();
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
  async loadOlder(): Promise<void> {
    if (this.loadingOlder || this.loading || this.store.lo === 0) return;
    this.loadingOlder = true;
    const generation = this.generation;
    try {
      const page = await this.page({ before: this.store.lo + 1, tail: PAGE });
      if (generation !== this.generation) return;
      const added = this.store.prepend(page.logs, page.truncated ? page.logs[0]!.seq - 1 : 0);
      this.notePhases(page.logs);
      this.focus += added;
      this.trim();
    } catch (error) {
      if (!isAbort(error)) this.notice = messageOf(error);
    } finally {
      this.loadingOlder = false;
      this.changed();
    }
  }

  /** The bottom marker is on screen (the window left the live end): fetch the page after it. */
  async loadNewer(): Promise<void> {
    if (this.loadingNewer || this.loading || this.attached) return;
    this.loadingNewer = true;
    const generation = this.generation;
    try {
      const liveEnd = this.sseTo;
      const page = await this.page({ after: this.store.hi, limit: PAGE });
      if (generation !== this.generation) return;
      this.store.append(page.logs, page.truncated ? lastSeq(page)! : Math.max(liveEnd, lastSeq(page) ?? 0));
      this.notePhases(page.logs);
      if (!page.truncated) this.attach();
      this.trim();
    } catch (error) {
      if (!isAbort(error)) this.notice = messageOf(error);
    } finally {
      this.loadingNewer = false;
      this.changed();
    }
  }

  // --- the live stream ---------------------------------------------------------------------

  private openStream(): void {
    if (this.run !== null && FINAL_STATUSES.includes(this.run.status) && this.run.line_count <= this.sseTo) return;
    this.stream = new LiveStream(
      // reopened after the tab was hidden: from the last line seen, so nothing is missed
      () => runStreamUrl(this.runId, this.sseTo),
      {
        logs: (data) => this.onLogs(data as LogLine[]),
        progress: (data) => this.onProgress(data as ProgressUpdate),
        end: (data) => this.onEnd(data as Run),
      },
      (state) => {
        this.streamState = state;
        this.changed();
      },
    );
    this.stream.start();
  }

  private onLogs(lines: LogLine[]): void {
    if (!Array.isArray(lines)) return;
    for (const line of lines) {
      if (typeof line.seq !== 'number' || line.seq <= this.sseTo) continue; // already have it
      this.sseTo = line.seq;
      this.recent.push(line);
      // a line from a source ends that source's progress bar (its last state arrives as a line)
      this.progress.delete(line.source ?? '');
      if (this.match(line)) this.pending.push(line);
    }
    this.scheduleFlush();
  }

  private onProgress(update: ProgressUpdate): void {
    this.progress.set(update.source ?? '', update);
    this.scheduleFlush();
  }

  private onEnd(run: Run): void {
    this.run = run;
    this.progress.clear();
    // the last lines now, in the same render as the end: never an end row above lines still pending
    this.cancelFlush();
    this.flush();
    // the hub closes the stream after `end`; closing it here stops the browser reconnecting
    this.stream?.stop();
    this.stream = null;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.changed();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== null || this.flushFrame !== null) return;
    const wait = Math.max(0, this.lastFlush + FLUSH_MS - performance.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushFrame = requestAnimationFrame(() => {
        this.flushFrame = null;
        this.lastFlush = performance.now();
        this.flush();
      });
    }, wait);
  }

  private cancelFlush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.flushFrame !== null) cancelAnimationFrame(this.flushFrame);
    this.flushTimer = null;
    this.flushFrame = null;
  }

  private flush(): void {
    if (this.disposed) return;
    const lines = this.pending;
    this.pending = [];
    if (!this.loading) {
      if (this.attached) {
        const added = this.store.append(lines, this.sseTo);
        this.notePhases(lines);
        if (!this.following) this.newLines += added;
        this.trim();
      } else {
        this.newLines += lines.length;
      }
    }
    this.changed();
  }

  // --- helpers -----------------------------------------------------------------------------

  /** Replaces the window with what `load` fetched; `load` returns the change to apply. */
  private async reload(load: () => Promise<() => void>): Promise<void> {
    const generation = ++this.generation;
    this.loading = true;
    this.notice = null;
    this.changed();
    try {
      const apply = await load();
      if (generation !== this.generation || this.disposed) return;
      apply();
      this.loading = false;
      this.error = null;
      this.changed();
    } catch (error) {
      if (generation === this.generation) this.fail(error);
    }
  }

  private replace(lines: LogLine[], lo: number, hi: number): void {
    this.store.reset(lines, lo, hi);
    this.notePhases(lines);
    this.attached = false;
    this.pending = [];
  }

  /** Joins the window to the live end with the lines the stream brought meanwhile, if it has them all. */
  private attach(): void {
    if (!this.recent.covers(this.store.hi)) return; // more arrived than `recent` keeps: still a gap
    const joined = this.recent.after(this.store.hi).filter(this.match);
    this.store.append(joined, this.sseTo);
    this.notePhases(joined);
    this.attached = true;
    this.pending = [];
  }

  private trim(): void {
    if (this.following) this.focus = this.store.length - 1;
    const cap = this.following ? FOLLOW_CAP : this.store.cap;
    const excess = this.store.length - cap;
    const side = this.store.trim(Math.min(this.focus, this.store.length - 1), cap);
    // dropped the newest lines: the window no longer reaches the live end
    if (side === 'bottom') this.attached = false;
    if (side === 'top') this.focus = Math.max(0, this.focus - excess);
  }

  private notePhases(lines: readonly LogLine[]): void {
    for (const line of lines) {
      if (line.phase !== undefined) this.phases.add(line.phase);
      if (typeof line.attrs?.path === 'string') this.paths.add(line.attrs.path);
      if (typeof line.logger === 'string') this.loggers.add(line.logger);
    }
  }

  private page(query: LogPageQuery, filter: LineFilter = this.filter): Promise<LogPage> {
    return runLogs(this.runId, query, filter, this.abort.signal);
  }

  /** Re-reads the run now (after an action on it: a cancel request, a re-run); the stream's `end` still ends it. */
  refreshRun(): void {
    getRun(this.runId, this.abort.signal).then(
      (run) => {
        this.run = run;
        this.changed();
      },
      () => {},
    );
  }

  /** queued → running and the like are not on the log stream: re-read the run until it ends. */
  private pollRun(): void {
    if (this.run === null || FINAL_STATUSES.includes(this.run.status)) return;
    this.pollTimer = setInterval(() => {
      if (document.visibilityState === 'hidden') return;
      getRun(this.runId, this.abort.signal).then(
        (run) => {
          // the stream's `end` is the authority on the end; a poll only moves a live run along
          if (this.run === null || !FINAL_STATUSES.includes(this.run.status)) {
            this.run = run;
            this.changed();
          }
          if (FINAL_STATUSES.includes(run.status) && this.pollTimer !== null) clearInterval(this.pollTimer);
        },
        () => {},
      );
    }, RUN_POLL_MS);
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

function lastSeq(page: LogPage): number | undefined {
  return page.logs[page.logs.length - 1]?.seq;
}
