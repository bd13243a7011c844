/**
 * HubShipper: a run's records → the hub, over HTTP, without ever blocking the command, and with
 * every record on disk first (issue 9: a line read is a line kept).
 *
 * - Write-ahead: each record is appended to the run's WAL (`src/pipeline/spool/wal.ts`: one write
 *   per batch, fdatasync at most every 100 ms) as it is read; the WAL's metadata holds the create
 *   body, the writer key, the hub and the acknowledged seq, so `runlog sync` (or the next runlog
 *   command on this data directory) can deliver what this process could not.
 * - Memory stays bounded: while the hub keeps up, records also wait in memory (as their JSON) and
 *   go from there. Past `maxMemoryLines` the shipper is "behind": it forgets them and reads what to
 *   send back from the WAL, from the first unacknowledged seq, until it has caught up. What waits,
 *   and which lines go next, is the LineQueue's (hub-queue.ts); this file sends them.
 * - One request in flight at a time, so batches arrive in order (up to 5,000 lines or ~8 MiB);
 *   lines that come meanwhile go in the next one. A failed request (network, timeout, 5xx, 507,
 *   408, 429) is retried with backoff, the same batch first. 404: the hub lost the run, create it
 *   again. A refused create (any other 4xx) stops shipping at once: one message, no retries.
 * - Every request for the run carries `X-Runlog-Writer` (docs/PROTOCOL: only the writer writes);
 *   a lease (`POST /api/runs/:id/lease`) is renewed every `lease_s`, and its answer may ask the
 *   run to be cancelled.
 * - Once the hub has acknowledged every line and the end, the WAL is deleted.
 */
import { randomBytes } from 'node:crypto';
import { BatchBodyWriter } from '../core/batch-wire.js';
import { DEFAULTS } from '../core/config.js';
import type { LogRecord, ProgressUpdate } from '../core/record.js';
import { terminalSafe } from '../core/terminal.js';
import { self } from '../pipeline/spool/owner.js';
import { Wal } from '../pipeline/spool/wal.js';
import type { Run, RunFinish, RunUpsert } from '../store/store.js';
import type { RunSink } from './sink.js';
import { HubRefused, hubMessage, hubPost } from './hub-http.js';
import { LineQueue, type LineBatch } from './hub-queue.js';

export interface ShipperOptions {
  hub: string;
  /** where the WAL goes (`<data>/wal`); undefined: memory only (benchmarks) */
  walDir: string | undefined;
  /** the run's writer key (X-Runlog-Writer): the claim's for a task; default: a new random key */
  writerKey?: string;
  /** who writes this run: `run` or `worker` (kept in the WAL's owner) */
  ownerKind?: string;
  /** the worker running the task (a hand-back names it) */
  workerId?: string;
  leaseSeconds?: number;
  /** lines kept in memory while the hub is behind; further behind, they are read back from the WAL */
  maxMemoryLines?: number;
  maxBatchLines?: number;
  requestTimeoutMs?: number;
  /** how long finish() waits for an absent hub before giving up (the WAL keeps what is left) */
  finishTimeoutMs?: number;
  /** told when the hub stops or starts taking lines; `status`: what it answered (0: nothing, 507: its store is full) */
  onHubState?: (reachable: boolean, reason?: string, status?: number) => void;
  /**
   * Told after the hub acknowledged a batch: every record up to `lastSeq` is stored (a file
   * follower writes its checkpoint then). Records go out in seq order, so this only grows.
   */
  onDelivered?: (lastSeq: number) => void;
  /** Told once a batch is made, before it is first sent: it ends at `lastSeq` (a file follower notes where the files would be then). */
  onSending?: (lastSeq: number) => void;
  /** the hub asked for the run to be cancelled (lease answer) */
  onCancel?: (by: string) => void;
  /** the hub refused the run's creation: shipping stopped */
  onRefused?: (message: string) => void;
  /** lines could not be written to the WAL (disk full) */
  onTrouble?: (message: string) => void;
}

interface Batch extends LineBatch {
  progress: ProgressUpdate[];
}

const MIN_BACKOFF_MS = 100;
// An idle shipper waits this long after a line before sending: a command printing 1,000 lines/s
// then costs ~500 requests/s instead of 1,000, and on 2 cores the syscalls saved lower the
// latency more than the wait adds (bench/latency.js: p50 4.7 → 3.6 ms, p99 56 → 31 ms).
const COALESCE_MS = 2;
// While lines keep coming, requests go at most this often (unless a batch is full): at 1,000 lines/s
// that is ~8 lines a request instead of ~2, and the hub's and the runner's CPU per line (most of
// it per request: HTTP, a transaction, the SSE writes) falls by ~3× for a few ms of latency
// (the peers harness's 1,000 lines/s scenario; bench/latency.js keeps the latency goals).
const STEADY_GAP_MS = 8;
const MAX_BATCH_LINES = 5000; // when the hub is behind, bigger requests amortise their cost
const MAX_BACKOFF_MS = 2000;
/** statuses that a retry may cure; any other 4xx would be refused however often it is sent */
const RETRYABLE = new Set([404, 408, 429]);

export class HubShipper implements RunSink {
  readonly stats = { requests: 0, sent: 0, retries: 0, walReads: 0, refused: 0 };
  /** the hub's message when it refused the run's creation */
  refusedCreate: string | undefined;
  private readonly hub: string;
  private run: (RunUpsert & { lease_s: number }) | undefined;
  private wal: Wal | undefined;
  private runAcknowledged = false;
  /** the hub answered 404 for the run: it is created again, and may have lost its lines */
  private runLost = false;
  /** the lines not delivered yet (hub-queue.ts) */
  private readonly queue: LineQueue;
  private readonly progressBySource = new Map<string, ProgressUpdate>();
  private lastProgressSentAt = 0;
  private current: Batch | undefined;
  private finishing: RunFinish | undefined;
  private finished: Run | undefined;
  private handingBack = false;
  private stopped = false;
  private reachable = true;
  /** why the hub does not take lines now (its store full or not): a change is said too */
  private full = false;
  private cancelSeen = false;
  private troubleSaid = false;
  /** what the request in flight is, to tell a refused create from a refused batch */
  private doing: 'create' | 'lines' | 'end' = 'create';
  private wakeup: (() => void) | undefined;
  private cutBackoff: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private pump: Promise<void> | undefined;
  private lastSuccessAt = Date.now();
  private lastSentAt = 0;
  private finishTimeoutMs: number;
  /** a stopping worker's limit (giveUpAfter): how long the hub may stay silent, from its last answer */
  private stopQuietMs = Infinity;
  private readonly writerKey: string;
  /** one buffer for every batch's body (see BatchBodyWriter) */
  private readonly body = new BatchBodyWriter();

  constructor(private readonly options: ShipperOptions) {
    this.writerKey = options.writerKey ?? randomBytes(16).toString('base64url');
    this.hub = options.hub.replace(/\/+$/, '');
    this.queue = new LineQueue(options.maxMemoryLines ?? DEFAULTS.walMemoryLines, this.stats);
    this.finishTimeoutMs = options.finishTimeoutMs ?? 10_000;
  }

  /** lines waiting in memory (the rest of what is unsent waits in the WAL) */
  get memoryLines(): number {
    return this.queue.waiting + (this.current?.json?.length ?? 0);
  }

  /** lines neither on disk nor delivered (the WAL could not be written and the hub did not get them) */
  get lost(): number {
    return this.queue.lost;
  }

  /** The hub acknowledged the run's end (or its hand-back): nothing of it waits in the WAL. */
  get endDelivered(): boolean {
    return this.finished !== undefined;
  }

  get walFile(): string | undefined {
    return this.wal?.file;
  }

  /** How long finish() may still wait for a hub that does not answer (a worker told to stop). */
  giveUpAfter(ms: number): void {
    this.stopQuietMs = Math.min(this.stopQuietMs, Date.now() - this.lastSuccessAt + ms);
  }

  start(run: RunUpsert): void {
    const leaseSeconds = this.options.leaseSeconds ?? DEFAULTS.leaseSeconds;
    this.run = { ...run, lease_s: leaseSeconds };
    if (this.options.walDir !== undefined) {
      this.wal = new Wal(
        this.options.walDir,
        { version: 1, run: this.run, writer_key: this.writerKey, hub: this.hub, acked_seq: 0, owner: self(this.options.ownerKind ?? 'run') },
        (count, firstSeq, error, lines) => this.walFailed(count, firstSeq, error, lines),
      );
      if (!this.wal.usable) this.troubleSaid = true;
      if (!this.wal.usable) this.options.onTrouble?.(`cannot write the WAL ${this.wal.file}: ${this.wal.error}; lines wait in memory only`);
      this.queue.attach(this.wal);
    }
    this.leaseTimer = setInterval(() => void this.renewLease(), leaseSeconds * 1000);
    this.leaseTimer.unref();
    this.pump = this.loop();
  }

  record(record: LogRecord): void {
    this.queue.add(record.seq, JSON.stringify(record));
    this.progressBySource.delete(record.source ?? '');
    this.kick();
  }

  flushDurable(): void {
    this.wal?.flush();
  }

  progress(update: ProgressUpdate): void {
    this.progressBySource.set(update.source ?? '', update);
    this.kick();
  }

  /**
   * Delivers everything, then the run's end. Waits as long as the hub makes progress; gives up
   * once it has answered nothing for finishTimeoutMs: the WAL keeps what is left for `runlog sync`.
   */
  async finish(finish: RunFinish): Promise<Run | undefined> {
    this.finishing = finish;
    this.wal?.end(this.handingBack ? 'release' : 'finish', this.endBody());
    this.cutBackoff?.();
    this.kick();
    const pump = this.pump ?? Promise.resolve();
    let done = false;
    void pump.then(() => (done = true));
    // the hub's silence counts from the later of its last answer and now: a command quiet for
    // longer than the timeout before it ended (no line, no lease yet) still gets the whole
    // timeout for its end, not the ~100 ms it had when silence counted from the last answer
    const finishStartedAt = Date.now();
    const quietMs = () => Date.now() - Math.max(this.lastSuccessAt, finishStartedAt);
    while (!done && quietMs() < this.finishTimeoutMs && Date.now() - this.lastSuccessAt < this.stopQuietMs) {
      await Promise.race([pump, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    this.stopped = true;
    clearInterval(this.leaseTimer);
    this.cutBackoff?.();
    this.kick();
    // what only memory held (the WAL could not take it) and the hub did not get is lost now
    if (!this.finished) this.queue.lost += this.countUnsentVolatile();
    if (this.finished) this.wal?.remove();
    else this.wal?.flush(); // kept open: unsent() may read it; close() ends it
    return this.finished;
  }

  rewriteEnd(finish: RunFinish): void {
    this.finishing = finish;
    this.wal?.end(this.handingBack ? 'release' : 'finish', this.endBody());
  }

  /** Done with the run: the WAL (if the hub did not take everything) stays on disk for `runlog sync`. */
  close(): void {
    // a run closed without its end (its runner threw) must not keep its lease alive: the hub fails it as lost
    clearInterval(this.leaseTimer);
    this.wal?.close();
  }

  /**
   * The run is a task this worker hands back unfinished: once its lines are delivered, put it
   * back in the queue instead of ending it. A cancelled run is never handed back.
   */
  handBack(): void {
    if (!this.cancelSeen) this.handingBack = true;
  }

  /** The hub never acknowledged the run: true when nothing of it reached the hub. */
  get neverAcknowledged(): boolean {
    return !this.runAcknowledged && this.queue.ackedSeq === 0;
  }

  /**
   * What the hub never acknowledged, page by page (the WAL's records, then those only memory
   * holds): for the local store when the hub stayed away or refused the run.
   */
  *unsent(pageLines = 2000): Generator<LogRecord[]> {
    yield* this.queue.unsent(this.current, pageLines);
  }

  /** Lines lost for want of disk that the hub never got either (memory let them go unsent). */
  countUnsentVolatile(): number {
    return this.queue.countUnsentVolatile(this.current);
  }

  /** The run is kept elsewhere (the local store, after a refusal): its WAL goes. */
  discardWal(): void {
    this.wal?.remove();
  }

  private async loop(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    while (!this.stopped) {
      try {
        await this.paceSteadyFlow();
        if (!(await this.step())) await this.idle();
        backoff = MIN_BACKOFF_MS;
        this.setReachable(true);
      } catch (error) {
        const status = error instanceof HubRefused ? error.status : 0;
        const what = this.doing;
        if (status >= 400 && status < 500 && !RETRYABLE.has(status)) {
          if (what === 'create' && status !== 409) {
            this.refuse(error as HubRefused);
            return;
          }
          if (what === 'create') {
            this.runAcknowledged = true; // it exists already (a retried create): go on with its lines
            continue;
          }
          if (what === 'end') {
            this.options.onHubState?.(true, `hub refused the end of the run: ${(error as Error).message}`);
            this.stopped = true;
            return;
          }
          // the hub will refuse this batch however often we send it: count it and go on
          this.stats.refused += this.current?.seqs.length ?? 0;
          this.options.onHubState?.(true, `hub refused ${this.current?.seqs.length ?? 0} lines: ${(error as Error).message}`);
          this.commitCurrent();
          continue;
        }
        if (status === 404) {
          this.runAcknowledged = false;
          this.runLost = true;
        }
        // a 404 to the create is the URL's; to the lines, the hub lost the run (created again next)
        this.setReachable(false, error instanceof Error ? error.message : String(error), status === 404 && what !== 'create' ? 0 : status);
        this.stats.retries++;
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Lines are flowing and the last request just left: let a few more join the next one. */
  private async paceSteadyFlow(): Promise<void> {
    const wait = this.lastSentAt + STEADY_GAP_MS - Date.now();
    if (wait <= 0 || this.finishing || this.queue.isBehind || this.queue.waiting === 0) return;
    if (this.queue.waiting >= (this.options.maxBatchLines ?? MAX_BATCH_LINES) / 2) return;
    await this.sleep(wait);
  }

  /** Does the next piece of work; false when there is none. */
  private async step(): Promise<boolean> {
    if (!this.run) return false;
    const id = encodeURIComponent(this.run.id);
    if (!this.runAcknowledged) {
      this.doing = 'create';
      const made = (await this.post('/api/runs', JSON.stringify(this.run))) as Partial<Run> | undefined;
      this.runAcknowledged = true;
      // made again, empty, after a 404: the hub lost what it had taken (a new data directory)
      if (this.runLost && this.queue.ackedSeq > 0 && made?.line_count === 0) this.resendFromStart();
      this.runLost = false;
      return true;
    }
    if (this.current === undefined) {
      this.current = this.nextBatch();
      const last = this.current?.seqs.at(-1);
      if (last !== undefined) this.options.onSending?.(last);
    }
    if (this.current) {
      const { json, pieces, seqs, progress } = this.current;
      this.doing = 'lines';
      await this.post(`/api/runs/${id}/logs`, this.body.write(pieces ?? json ?? [], progress));
      this.stats.sent += seqs.length;
      const last = seqs[seqs.length - 1];
      this.commitCurrent();
      if (last !== undefined) this.options.onDelivered?.(last);
      return true;
    }
    if (this.finishing && !this.finished) {
      this.doing = 'end';
      const path = this.handingBack ? `/api/tasks/${id}/release` : `/api/runs/${id}/finish`;
      this.finished = (await this.post(path, JSON.stringify(this.endBody()))) as Run;
      this.stopped = true;
      return true;
    }
    return false;
  }

  private endBody(): unknown {
    return this.handingBack ? { worker_id: this.options.workerId } : this.finishing;
  }

  private nextBatch(): Batch | undefined {
    const lines = this.queue.take(this.options.maxBatchLines ?? MAX_BATCH_LINES);
    // a bar goes out only with the last of the lines before it (never with lines read back from
    // the WAL), and at most 4 times a second
    const progress = lines?.nextCursor === undefined && this.queue.waiting === 0 ? this.takeProgress() : [];
    if (lines === undefined && progress.length === 0) return undefined;
    return { ...(lines ?? { json: [], seqs: [] }), progress };
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
    if (batch) this.queue.ack(batch);
  }

  /**
   * The hub lost the run's lines (it answered 404, then created the run again with none): send
   * them all again, from the WAL's first line. Without a WAL (or with lines only memory holds)
   * they cannot be: that is said, and what comes next goes on.
   */
  private resendFromStart(): void {
    const lost = this.queue.ackedSeq;
    const id = this.run?.id ?? '?';
    if (!this.queue.rewind()) {
      this.options.onHubState?.(true, `the hub lost the first ${lost} lines of run ${id} (it no longer knew the run); they are in the log file, not on the hub`);
      return;
    }
    this.current = undefined;
    this.options.onHubState?.(true, `the hub no longer knew run ${id} (a new data directory?): created again, its ${lost} lines sent again from the WAL`);
  }

  private walFailed(count: number, firstSeq: number, error: string, lines: Buffer): void {
    this.queue.walFailed(count, firstSeq, lines);
    if (!this.troubleSaid) this.options.onTrouble?.(`cannot write the WAL ${this.wal?.file}: ${error}`);
    this.troubleSaid = true;
  }

  private refuse(error: HubRefused): void {
    this.refusedCreate = hubMessage(error.message);
    this.stopped = true;
    clearInterval(this.leaseTimer);
    this.wal?.refuse(this.refusedCreate);
    this.options.onRefused?.(this.refusedCreate);
  }

  private async renewLease(): Promise<void> {
    if (!this.run || this.stopped || !this.runAcknowledged) return;
    try {
      const answer = (await this.post(`/api/runs/${encodeURIComponent(this.run.id)}/lease`, '{}')) as { cancel?: { by?: string } | null } | undefined;
      if (answer?.cancel && !this.cancelSeen) {
        this.cancelSeen = true;
        this.handingBack = false;
        // printed on this process's terminal: an older hub took any name, escape sequences included
        this.options.onCancel?.(terminalSafe(String(answer.cancel.by ?? 'unknown'), { colour: false }).replace(/\n/g, ' '));
      }
    } catch {
      // 404: an older hub without leases; anything else: the next renewal or line will tell
    }
  }

  private async post(path: string, body: string | Buffer): Promise<unknown> {
    this.stats.requests++;
    this.lastSentAt = Date.now();
    const { status, ok, text } = await hubPost(`${this.hub}${path}`, body, { 'x-runlog-writer': this.writerKey }, this.options.requestTimeoutMs ?? 10_000);
    if (!ok) throw new HubRefused(status, `${status} ${text.slice(0, 500)}`);
    this.lastSuccessAt = Date.now();
    return text === '' ? undefined : JSON.parse(text);
  }

  private setReachable(reachable: boolean, reason?: string, status = 0): void {
    // away, then up with its store full (or the other way): a different thing to say
    const full = !reachable && status === 507;
    if (reachable === this.reachable && full === this.full) return;
    this.reachable = reachable;
    this.full = full;
    this.options.onHubState?.(reachable, reason, status);
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
