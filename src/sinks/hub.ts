/**
 * HubShipper: a run's records → the hub, over HTTP, without ever blocking the command.
 *
 * One request in flight at a time, so batches arrive in order: lines that come while one is in
 * flight go together in the next (up to 5,000 lines or ~8 MiB a request; a line waits for one
 * round trip and a 2 ms gathering pause at most, well inside the 50 ms flush the design allows). A failed request is retried with backoff, the same batch first;
 * meanwhile lines queue in memory and, past a bound, in a spool file on disk. Resending is safe:
 * the hub ignores a (stream, seq) it already has. Progress updates ride along, at most 4 a second,
 * and only the latest of each source: a line from that source makes its bar obsolete.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULTS } from '../core/config.js';
import type { LogRecord, ProgressUpdate } from '../core/record.js';
import { Spool } from '../pipeline/spool/spool.js';
import type { Run, RunFinish, RunUpsert } from '../store/store.js';
import type { RunSink } from './sink.js';
import { hubFetch } from './hub-http.js';

export interface ShipperOptions {
  hub: string;
  spoolDir: string;
  /** lines kept in memory while the hub is away or behind, before they go to the spool */
  maxMemoryLines?: number;
  maxBatchLines?: number;
  requestTimeoutMs?: number;
  /** how long finish() waits for an absent hub before giving up (see unsent()) */
  finishTimeoutMs?: number;
  /** told when the hub stops or starts answering */
  onHubState?: (reachable: boolean, reason?: string) => void;
  /**
   * Told after the hub acknowledged a batch: every record up to `lastSeq` is stored (a file
   * follower writes its checkpoint then). Records go out in seq order, so this only grows.
   */
  onDelivered?: (lastSeq: number) => void;
  /** proves to the hub that this process writes the run (a task's: from its claim); default: a new random key */
  writerKey?: string;
  /** the worker running the task (a hand-back names it) */
  workerId?: string;
}

interface Batch {
  records: LogRecord[];
  progress: ProgressUpdate[];
  /** the spool offset after these records, when they came from the spool */
  spoolNext?: number;
}

class HubRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MIN_BACKOFF_MS = 100;
// An idle shipper waits this long after a line before sending: a command printing 1,000 lines/s
// then costs ~500 requests/s instead of 1,000, and on 2 cores the syscalls saved lower the
// latency more than the wait adds (bench/latency.js: p50 4.7 → 3.6 ms, p99 56 → 31 ms).
const COALESCE_MS = 2;
const MAX_BATCH_LINES = 5000; // when the hub is behind, bigger requests amortise their cost
const MAX_BATCH_BYTES = 8 * 1024 * 1024; // 8 MiB: well under the hub's body limit

/** How many of the first records make a batch: at most `max` lines and about MAX_BATCH_BYTES. */
function batchLength(records: readonly LogRecord[], max: number): number {
  let bytes = 0;
  const limit = Math.min(records.length, max);
  for (let i = 0; i < limit; i++) {
    bytes += (records[i]?.message.length ?? 0) * 3 + 200; // worst case UTF-8, plus the fields
    if (bytes > MAX_BATCH_BYTES) return Math.max(1, i);
  }
  return limit;
}
const MAX_BACKOFF_MS = 2000;

export class HubShipper implements RunSink {
  readonly stats = { requests: 0, sent: 0, retries: 0, spooled: 0, refused: 0 };
  private readonly hub: string;
  private run: RunUpsert | undefined;
  private runAcknowledged = false;
  private pending: LogRecord[] = [];
  private readonly progressBySource = new Map<string, ProgressUpdate>();
  private lastProgressSentAt = 0;
  private current: Batch | undefined;
  private spool: Spool<LogRecord> | undefined;
  private finishing: RunFinish | undefined;
  private finished: Run | undefined;
  private handingBack = false;
  private stopped = false;
  private reachable = true;
  private wakeup: (() => void) | undefined;
  private cutBackoff: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pump: Promise<void> | undefined;
  private lastSuccessAt = Date.now();
  private finishTimeoutMs: number;
  private readonly maxMemoryLines: number;
  private readonly writerKey: string;

  constructor(private readonly options: ShipperOptions) {
    this.writerKey = options.writerKey ?? randomBytes(16).toString('base64url');
    this.hub = options.hub.replace(/\/+$/, '');
    this.maxMemoryLines = options.maxMemoryLines ?? 100_000; // ~30 MB of 100-byte lines
    this.finishTimeoutMs = options.finishTimeoutMs ?? 10_000;
  }

  /** How long finish() may still wait for a hub that does not answer (a worker told to stop). */
  giveUpAfter(ms: number): void {
    this.finishTimeoutMs = Math.min(this.finishTimeoutMs, Date.now() - this.lastSuccessAt + ms);
  }

  start(run: RunUpsert): void {
    this.run = run;
    this.spool = new Spool<LogRecord>(this.options.spoolDir, run.id);
    this.pump = this.loop();
  }

  record(record: LogRecord): void {
    this.pending.push(record);
    this.progressBySource.delete(record.source ?? '');
    // away or just slower than the command: memory stays bounded either way
    if (this.pending.length > this.maxMemoryLines) this.toSpool();
    this.kick();
  }

  progress(update: ProgressUpdate): void {
    this.progressBySource.set(update.source ?? '', update);
    this.kick();
  }

  /**
   * Delivers everything, then the run's end. Waits as long as the hub makes progress; gives up
   * once it has answered nothing for finishTimeoutMs (see unsent()).
   */
  async finish(finish: RunFinish): Promise<Run | undefined> {
    this.finishing = finish;
    this.cutBackoff?.();
    this.kick();
    const pump = this.pump ?? Promise.resolve();
    let done = false;
    void pump.then(() => (done = true));
    while (!done && Date.now() - this.lastSuccessAt < this.finishTimeoutMs) {
      await Promise.race([pump, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    this.stopped = true;
    this.cutBackoff?.();
    this.kick();
    return this.finished;
  }

  /**
   * The run is a task this worker hands back unfinished: once its lines are delivered, put it
   * back in the queue instead of ending it.
   */
  handBack(): void {
    this.handingBack = true;
  }

  /** What the hub never acknowledged, in order: for the local store when the hub stayed away. */
  unsent(): LogRecord[] {
    let records = this.current?.spoolNext === undefined ? (this.current?.records ?? []) : [];
    if (this.spool) records = records.concat(this.spool.drain());
    records = records.concat(this.pending);
    this.current = undefined;
    this.pending = [];
    return records;
  }

  private async loop(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    while (!this.stopped) {
      try {
        if (!(await this.step())) await this.idle();
        backoff = MIN_BACKOFF_MS;
        this.setReachable(true);
      } catch (error) {
        if (error instanceof HubRefused && error.status !== 404 && error.status < 500 && error.status !== 429 && error.status !== 408) {
          // the hub will refuse this batch however often we send it: count it and go on
          this.stats.refused += this.current?.records.length ?? 0;
          this.options.onHubState?.(true, `hub refused ${this.current?.records.length ?? 0} lines: ${error.message}`);
          this.commitCurrent();
          continue;
        }
        if (error instanceof HubRefused && error.status === 404) this.runAcknowledged = false;
        this.setReachable(false, error instanceof Error ? error.message : String(error));
        this.stats.retries++;
        if (this.pending.length > this.maxMemoryLines) this.toSpool();
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Does the next piece of work; false when there is none. */
  private async step(): Promise<boolean> {
    if (!this.run) return false;
    if (!this.runAcknowledged) {
      await this.post('/api/runs', this.run);
      this.runAcknowledged = true;
      return true;
    }
    this.current ??= this.nextBatch();
    if (this.current) {
      await this.post(`/api/runs/${encodeURIComponent(this.run.id)}/logs`, {
        records: this.current.records,
        progress: this.current.progress.length > 0 ? this.current.progress : undefined,
      });
      this.stats.sent += this.current.records.length;
      const last = this.current.records[this.current.records.length - 1];
      this.commitCurrent();
      if (last !== undefined) this.options.onDelivered?.(last.seq);
      return true;
    }
    if (this.finishing && !this.finished) {
      const id = encodeURIComponent(this.run.id);
      this.finished = (await this.post(
        this.handingBack ? `/api/tasks/${id}/release` : `/api/runs/${id}/finish`,
        this.handingBack ? { worker_id: this.options.workerId } : this.finishing,
      )) as Run;
      this.stopped = true;
      return true;
    }
    return false;
  }

  private nextBatch(): Batch | undefined {
    const max = this.options.maxBatchLines ?? MAX_BATCH_LINES;
    if (this.spool && this.spool.size > 0) {
      const { items, next } = this.spool.peek(max);
      if (items.length > 0) return { records: items, progress: [], spoolNext: next };
    }
    const count = batchLength(this.pending, max);
    const records = count === this.pending.length ? this.pending : this.pending.slice(0, count);
    this.pending = count === this.pending.length ? [] : this.pending.slice(count);
    // a bar goes out only with the last of the lines before it, and at most 4 times a second
    const progress = this.pending.length === 0 ? this.takeProgress() : [];
    if (records.length === 0 && progress.length === 0) return undefined;
    return { records, progress };
  }

  private takeProgress(): ProgressUpdate[] {
    if (this.progressBySource.size === 0) return [];
    const wait = this.lastProgressSentAt + 1000 / DEFAULTS.progressPerSecond - Date.now();
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, wait);
      return [];
    }
    this.lastProgressSentAt = Date.now();
    const updates = [...this.progressBySource.values()];
    this.progressBySource.clear();
    return updates;
  }

  private commitCurrent(): void {
    const batch = this.current;
    this.current = undefined;
    if (batch?.spoolNext !== undefined) this.spool?.commit(batch.spoolNext, batch.records.length);
  }

  private toSpool(): void {
    if (!this.spool || this.pending.length === 0) return;
    this.stats.spooled += this.pending.length;
    this.spool.append(this.pending);
    this.pending = [];
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    this.stats.requests++;
    const response = await hubFetch(`${this.hub}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-runlog-writer': this.writerKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new HubRefused(response.status, `${response.status} ${text.slice(0, 300)}`);
    this.lastSuccessAt = Date.now();
    return text === '' ? undefined : JSON.parse(text);
  }

  private setReachable(reachable: boolean, reason?: string): void {
    if (reachable === this.reachable) return;
    this.reachable = reachable;
    this.options.onHubState?.(reachable, reason);
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => (this.wakeup = resolve));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      // finishing or stopping cuts a backoff short; new lines do not (they would hammer the hub)
      this.cutBackoff = done;
    });
  }

  /** Work arrived: wake the loop a moment later, so the lines of a few reads go together. */
  private kick(): void {
    const wake = this.wakeup;
    if (!wake) return;
    this.wakeup = undefined;
    setTimeout(wake, COALESCE_MS);
  }
}
