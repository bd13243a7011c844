/**
 * BatchClock: one stream's batched subscribers (`?batch=1`, the web UI) released together.
 *
 * A batched subscriber holds its live lines for up to `holdMs` and sends them as one `logs`
 * event (see server/sse.ts). With a timer each, 200 viewers of one run released at 200 moments,
 * each with its own lines held, and each built its own frame: the same text made 200 times, and
 * encoded to UTF-8 200 times, at every release (the hub's CPU and garbage at 200 viewers).
 * Here one timer per stream releases every subscriber holding lines at once, so those that are
 * caught up hold the same lines, and the frame they send is built and encoded once (`frames`).
 *
 * Why a key of seqs is enough: within one stream a seq is one record for good (its identity), and
 * a subscriber past its backlog holds every line published after its position, so two unfiltered
 * subscribers holding from seq A to seq B, as many lines, hold the same lines. The frames are kept
 * only until the current task's synchronous work is done (every subscriber released by one tick, or
 * by one progress update, is released in it): a run removed and made again under its id while a
 * viewer stays can never be sent the old run's frames.
 */
export class BatchClock {
  private readonly due = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private last: { key: string; frames: Buffer } | undefined;

  constructor(private readonly holdMs: number) {}

  /** `release` is called at the next tick (at most holdMs from now), unless cancelled first. */
  schedule(release: () => void): void {
    this.due.add(release);
    this.timer ??= setTimeout(() => this.tick(), this.holdMs);
  }

  cancel(release: () => void): void {
    this.due.delete(release);
  }

  /** The frames for held lines `key` names (first seq, last seq, count), built once for all who hold them. */
  frames(key: string, build: () => string): Buffer {
    if (this.last?.key === key) return this.last.frames;
    const frames = Buffer.from(build());
    if (this.last === undefined) queueMicrotask(() => (this.last = undefined));
    this.last = { key, frames };
    return frames;
  }

  /** The stream has no subscriber left. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
    this.last = undefined;
  }

  private tick(): void {
    this.timer = null;
    const due = [...this.due];
    this.due.clear();
    for (const release of due) release();
  }
}
