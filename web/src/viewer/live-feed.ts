/**
 * LiveFeed: a run's live lines for RunLogSession — the log stream, and the batching of what it
 * brings into renders. It keeps no window: the session applies what it hands over.
 *
 * `to` is the last seq the live stream delivered. The stream opens with `?after=<the last seq the
 * hub had>` (resetAt), so from there on it is gap-free, and the browser resumes it with
 * Last-Event-ID; reopened after the tab was hidden, it asks again from `to`. A line at or below
 * `to` is one already had.
 *
 * Every new line goes into `recent`, unfiltered, so that a window that comes back to the live end
 * joins it with no gap (LogWindow.attach). Rendering is batched (issue 4: a few renders a second at
 * most): the lines that match wait in `pending`, and the session is asked to flush at most every
 * FLUSH_MS, on an animation frame.
 */
import { runStreamUrl } from '../api/runs.ts';
import { LiveStream, type StreamState } from '../api/sse.ts';
import { FINAL_STATUSES, type LogLine, type ProgressUpdate, type Run } from '../api/types.ts';
import { RecentLines } from './recent.ts';

/** a render at most this often while lines pour in: ≤ 4 a second */
const FLUSH_MS = 250;

/** What the feed asks of its session. */
export interface LiveFeedOwner {
  /** whether a live line passes the view's filter (which changes) */
  match(line: LogLine): boolean;
  /** time to render: take() the pending lines and apply them */
  flush(): void;
  /** the stream's `end`: the run is over */
  end(run: Run): void;
  state(state: StreamState): void;
}

export class LiveFeed {
  /** the last seq the live stream delivered */
  to = 0;
  readonly recent = new RecentLines();
  /** live progress bars by source, shown in place at the live end */
  readonly progress = new Map<string, ProgressUpdate>();
  private pending: LogLine[] = [];
  private stream: LiveStream | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private flushFrame: number | null = null;
  private lastFlush = 0;

  constructor(
    private readonly runId: string,
    private readonly owner: LiveFeedOwner,
  ) {}

  /** Starts at `seq`, the hub's last line when the view loaded: the stream delivers what comes after. */
  resetAt(seq: number): void {
    this.to = seq;
    this.recent.reset(seq);
  }

  /** Opens the stream, unless the run has ended with every line already here. */
  open(run: Run | null): void {
    if (run !== null && FINAL_STATUSES.includes(run.status) && run.line_count <= this.to) return;
    this.stream = new LiveStream(
      // reopened after the tab was hidden: from the last line seen, so nothing is missed
      () => runStreamUrl(this.runId, this.to),
      {
        logs: (data) => this.onLogs(data as LogLine[]),
        progress: (data) => this.onProgress(data as ProgressUpdate),
        end: (data) => this.owner.end(data as Run),
      },
      (state) => this.owner.state(state),
    );
    this.stream.start();
  }

  /** Whether the stream was opened and not stopped since: the run may still bring lines. */
  get streaming(): boolean {
    return this.stream !== null;
  }

  stop(): void {
    this.stream?.stop();
    this.stream = null;
  }

  /** The lines that matched since the last flush, handed over once. */
  take(): LogLine[] {
    const lines = this.pending;
    this.pending = [];
    return lines;
  }

  /** Drops the lines waiting for a flush: the window was replaced, or joined from `recent`. */
  discard(): void {
    this.pending = [];
  }

  private onLogs(lines: LogLine[]): void {
    if (!Array.isArray(lines)) return;
    for (const line of lines) {
      if (typeof line.seq !== 'number' || line.seq <= this.to) continue; // already have it
      this.to = line.seq;
      this.recent.push(line);
      // a line from a source ends that source's progress bar (its last state arrives as a line)
      this.progress.delete(line.source ?? '');
      if (this.owner.match(line)) this.pending.push(line);
    }
    this.scheduleFlush();
  }

  private onProgress(update: ProgressUpdate): void {
    this.progress.set(update.source ?? '', update);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== null || this.flushFrame !== null) return;
    const wait = Math.max(0, this.lastFlush + FLUSH_MS - performance.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushFrame = requestAnimationFrame(() => {
        this.flushFrame = null;
        this.lastFlush = performance.now();
        this.owner.flush();
      });
    }, wait);
  }

  cancelFlush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.flushFrame !== null) cancelAnimationFrame(this.flushFrame);
    this.flushTimer = null;
    this.flushFrame = null;
  }
}
