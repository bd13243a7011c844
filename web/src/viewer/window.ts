/**
 * LogWindow: the lines the viewer holds for a run (a LineStore, `lo < seq <= hi`), and how they
 * move while the view stays where it is: a page at a time at either edge when its "N lines
 * skipped" row is scrolled to, live lines appended while it reaches the live end, trimmed to a cap
 * around what is on screen. RunLogSession decides where the window goes (a jump, a new filter)
 * and replaces it; this keeps it joined to the live stream (LiveFeed) without gap or duplicate.
 *
 * `attached`: the window reaches the live end, so live lines are appended to it. Otherwise they
 * are only counted ("N new lines") and kept in the feed's `recent`, which joins a window that
 * comes back.
 */
import { isAbort, messageOf } from '../api/http.ts';
import type { LogPageQuery } from '../api/runs.ts';
import type { LogLine, LogPage } from '../api/types.ts';
import type { LiveFeed } from './live-feed.ts';
import { LineStore } from './line-store.ts';

/** lines per page fetched (the tail on open, and each page up or down) */
export const PAGE = 1_000;
/**
 * Lines kept while following: the view shows only the newest, and each batch of live lines costs
 * a pass over all that are kept (rows, positions), so fewer keeps the page smooth at thousands of
 * lines a second. Scrolling up fetches older ones again, up to the store's cap.
 */
export const FOLLOW_CAP = 10_000;

/** What the window asks of its session. */
export interface LogWindowOwner {
  /** follow mode: the view stays at the bottom */
  following(): boolean;
  /** the window is being replaced: a page at an edge would be of the old one */
  loading(): boolean;
  /** whether a line passes the view's filter */
  match(line: LogLine): boolean;
  /** a page of the run's lines, with the view's filter */
  page(query: LogPageQuery): Promise<LogPage>;
  /** a page at an edge failed: a one-off message for the toolbar */
  notice(message: string): void;
  changed(): void;
}

export class LogWindow {
  readonly store = new LineStore();
  attached = false;
  loadingOlder = false;
  loadingNewer = false;
  /** phases seen in this run so far: headers show once there is more than `run` */
  readonly phases = new Set<string>();
  /** the files lines came from (`runlog follow`, attrs.path): named on each row once there are two */
  readonly paths = new Set<string>();
  /** the loggers lines came from (Python's logging, the SDKs): named on each row once there are two */
  readonly loggers = new Set<string>();
  /** bumps when the window is replaced: answers to older requests are dropped */
  generation = 0;
  /** the line index in the middle of the screen: trimming drops the other end */
  focus = 0;

  constructor(
    private readonly live: LiveFeed,
    private readonly owner: LogWindowOwner,
  ) {}

  /** The top marker is on screen: fetch the page before the window. */
  async loadOlder(): Promise<void> {
    if (this.loadingOlder || this.owner.loading() || this.store.lo === 0) return;
    this.loadingOlder = true;
    const generation = this.generation;
    try {
      const page = await this.owner.page({ before: this.store.lo + 1, tail: PAGE });
      if (generation !== this.generation) return;
      const added = this.store.prepend(page.logs, page.truncated ? page.logs[0]!.seq - 1 : 0);
      this.notePhases(page.logs);
      this.focus += added;
      this.trim();
    } catch (error) {
      if (!isAbort(error)) this.owner.notice(messageOf(error));
    } finally {
      this.loadingOlder = false;
      this.owner.changed();
    }
  }

  /** The bottom marker is on screen (the window left the live end): fetch the page after it. */
  async loadNewer(): Promise<void> {
    if (this.loadingNewer || this.owner.loading() || this.attached) return;
    this.loadingNewer = true;
    const generation = this.generation;
    try {
      const liveEnd = this.live.to;
      const page = await this.owner.page({ after: this.store.hi, limit: PAGE });
      if (generation !== this.generation) return;
      this.store.append(page.logs, page.truncated ? lastSeq(page)! : Math.max(liveEnd, lastSeq(page) ?? 0));
      this.notePhases(page.logs);
      if (!page.truncated) this.attach();
      this.trim();
    } catch (error) {
      if (!isAbort(error)) this.owner.notice(messageOf(error));
    } finally {
      this.loadingNewer = false;
      this.owner.changed();
    }
  }

  // --- the window replaced (RunLogSession: where it goes), from the pages fetched for it -----

  /**
   * The last page of the run (the tail), joined to the live end. `liveEnd` (here and below) is the
   * feed's `to` when the page was asked for: a page that reaches the run's end covers at least that
   * far, though its own last line may be older (the filter).
   */
  showTail(page: LogPage, liveEnd: number): void {
    this.replace(page.logs, page.truncated ? page.logs[0]!.seq - 1 : 0, Math.max(liveEnd, lastSeq(page) ?? 0));
    this.attach();
  }

  /** The first page of the run, joined to the live end if it reaches it. */
  showHead(page: LogPage, liveEnd: number): void {
    this.replace(page.logs, 0, page.truncated ? lastSeq(page)! : Math.max(liveEnd, lastSeq(page) ?? 0));
    if (!page.truncated) this.attach();
  }

  /** The lines before `seq` and from it, joined to the live end if they reach it. */
  showAround(seq: number, before: LogPage, after: LogPage, liveEnd: number): void {
    const lo = before.truncated ? before.logs[0]!.seq - 1 : 0;
    // no line from `seq` on (a #L link past the run's end): the window ends at the last line there
    // is, not at `seq`, which the footer would count as the run's length ("999 in run" for 18)
    const hi = after.truncated ? lastSeq(after)! : Math.max(liveEnd, lastSeq(after) ?? lastSeq(before) ?? lo);
    this.replace(before.logs.concat(after.logs), lo, hi);
    if (!after.truncated) this.attach();
  }

  private replace(lines: LogLine[], lo: number, hi: number): void {
    this.store.reset(lines, lo, hi);
    this.notePhases(lines);
    this.attached = false;
    this.live.discard();
  }

  /** Joins the window to the live end with the lines the stream brought meanwhile, if it has them all. */
  private attach(): void {
    if (!this.live.recent.covers(this.store.hi)) return; // more arrived than `recent` keeps: still a gap
    const joined = this.live.recent.after(this.store.hi).filter((line) => this.owner.match(line));
    this.store.append(joined, this.live.to);
    this.notePhases(joined);
    this.attached = true;
    this.live.discard();
  }

  /**
   * Live lines (a flush): onto the window while it reaches the live end. Returns how many the view
   * has not shown: those added while not following, all of them while the window is elsewhere.
   */
  applyLive(lines: readonly LogLine[]): number {
    if (!this.attached) return lines.length;
    const added = this.store.append(lines, this.live.to);
    this.notePhases(lines);
    this.trim();
    return this.owner.following() ? 0 : added;
  }

  trim(): void {
    const following = this.owner.following();
    if (following) this.focus = this.store.length - 1;
    const cap = following ? FOLLOW_CAP : this.store.cap;
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
}

function lastSeq(page: LogPage): number | undefined {
  return page.logs[page.logs.length - 1]?.seq;
}
