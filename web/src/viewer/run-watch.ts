/**
 * RunWatch: the run itself (its status, not its lines) while RunLogSession shows it, where the log
 * stream does not say it.
 *
 * - queued → running and the like are not on the log stream: a run that has not ended is re-read
 *   every RUN_POLL_MS until it has (poll). The stream's `end` is still what ends it.
 * - A run that is not there (404 at the start) may be about to be: waited for on the hub's events
 *   (waitFor).
 */
import { getRun } from '../api/runs.ts';
import { LiveStream } from '../api/sse.ts';
import { FINAL_STATUSES, type Run } from '../api/types.ts';

/** how often to re-read a run that has not ended (queued → running is not on the log stream) */
const RUN_POLL_MS = 5_000;

/** What the watch asks of its session. */
export interface RunWatchOwner {
  /** the run as the session has it */
  run(): Run | null;
  /** a newer state of the run */
  update(run: Run): void;
}

export class RunWatch {
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  /** the hub's events, while the run does not exist yet (waitFor) */
  private waiting: LiveStream | null = null;

  constructor(
    private readonly runId: string,
    private readonly signal: AbortSignal,
    private readonly owner: RunWatchOwner,
  ) {}

  /** Re-reads the run every RUN_POLL_MS until it ends. */
  poll(): void {
    const run = this.owner.run();
    if (run === null || FINAL_STATUSES.includes(run.status)) return;
    this.pollTimer = setInterval(() => {
      if (document.visibilityState === 'hidden') return;
      getRun(this.runId, this.signal).then(
        (run) => {
          // the stream's `end` is the authority on the end; a poll only moves a live run along
          const known = this.owner.run();
          if (known === null || !FINAL_STATUSES.includes(known.status)) this.owner.update(run);
          if (FINAL_STATUSES.includes(run.status) && this.pollTimer !== null) clearInterval(this.pollTimer);
        },
        () => {},
      );
    }, RUN_POLL_MS);
  }

  /** Re-reads the run now (after an action on it: a cancel request, a re-run); the stream's `end` still ends it. */
  refresh(): void {
    getRun(this.runId, this.signal).then(
      (run) => this.owner.update(run),
      () => {},
    );
  }

  stopPolling(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
  }

  /**
   * Calls `appeared` once the run exists (a link opened before `runlog follow --run X`, a Python
   * handler, OTLP or a /text upload creates it). The hub's events say when a run is created (the
   * Runs page's live list). Not a poll, which would put a 404 in the console every few seconds;
   * asked once more each time the events stream (re)opens, for a run created while it was not
   * there to say so.
   */
  waitFor(appeared: () => void): void {
    if (this.waiting !== null) return;
    const found = () => {
      if (this.waiting === null) return;
      this.waiting.stop();
      this.waiting = null;
      appeared();
    };
    this.waiting = new LiveStream(
      () => 'api/events',
      { run: (data) => (data as Run | null)?.id === this.runId && found() },
      (state) => {
        if (state === 'open') getRun(this.runId, this.signal).then(found, () => {});
      },
    );
    this.waiting.start();
  }

  stop(): void {
    this.waiting?.stop();
    this.waiting = null;
    this.stopPolling();
  }
}
