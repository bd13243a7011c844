/**
 * HeartbeatLoop: a worker's pulse. Every interval (default 20 s) it sends its status, GPU memory,
 * current task and the lines buffered since the last beat; a full buffer sends at once.
 *
 * While the hub is unreachable, answers 5xx, or does not take the token (401, 403), heartbeats wait in a bounded spool on disk and are
 * replayed in order when it is back (the oldest dropped past the bound, and counted: the count
 * goes out with the next heartbeat that gets through). A beat too large (413, a proxy's limit) is
 * sent again in halves; the lines of one refused otherwise are counted in the same way. Worker lines carry a per-worker seq, so a
 * replayed heartbeat never stores a line twice. Nothing here throws at the worker.
 */
import { randomBytes } from 'node:crypto';
import { fitJsonObject } from '../core/json-bounds.js';
import { reportedIntervalS } from '../core/limits.js';
import type { LogRecord } from '../core/record.js';
import { hubError, hubRequest } from '../sinks/hub-http.js';
import { Spool } from '../pipeline/spool/spool.js';
import type { WorkerState } from '../store/store.js';
import type { GpuSnapshot } from './gpu.js';

/** answers a later try may cure (a token, a busy hub): the heartbeat is spooled and sent again; any other 4xx would be refused however often it is sent */
const RETRY_LATER = new Set([401, 403, 408, 429]);

export interface HeartbeatBody {
  status: WorkerState;
  current_task_id: string | null;
  vram_total_mb: number | null;
  vram_used_mb: number | null;
  gpus: unknown[];
  heartbeat_interval_s: number;
  logs: LogRecord[];
  dropped_logs: number;
  stats: Record<string, unknown>;
  /** this life of the worker (a spooled beat keeps its own): the hub tells a new life's lines from resends by it */
  session?: string;
}

export interface HeartbeatOptions {
  hub: string;
  /** default: the process's token (hubToken) */
  token?: string;
  workerId: string;
  intervalMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  /** takes the buffered lines */
  takeLogs: () => LogRecord[];
  state: () => { status: WorkerState; current_task_id: string | null; stats: Record<string, unknown> };
  gpu: () => Promise<GpuSnapshot>;
  /** heartbeat trouble, for the worker's own log (it must not feed back into a failing send) */
  onTrouble?: (message: string) => void;
  requestTimeoutMs?: number;
}

export class HeartbeatLoop {
  readonly stats = { sent: 0, failed: 0, replayed: 0 };
  private readonly spool: Spool<HeartbeatBody>;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  /** aborts what is still in flight once stop() has waited long enough */
  private readonly aborter = new AbortController();
  private reachable = true;
  /** drops already sent in a heartbeat's dropped_logs (the spool's, then the refused beats' lines) */
  private reportedDrops = 0;
  /** lines of beats the hub refused (not 413-split, not to be retried) */
  private refusedLines = 0;
  private readonly session = randomBytes(12).toString('base64url');

  constructor(private readonly options: HeartbeatOptions) {
    // past the bound the oldest beats go; what is counted is the lines they carried
    this.spool = new Spool<HeartbeatBody>(options.spoolDir, `worker-${options.workerId}-heartbeats`, options.spoolMaxBytes, (body) => body.logs.length);
  }

  start(): void {
    this.schedule();
    void this.beat();
  }

  /** A heartbeat now (a full buffer, a claimed task); beats never overlap, and one waiting covers all asks. */
  beat(): Promise<void> {
    if (this.queued) return this.queued;
    this.queued = this.beating.then(() => {
      this.queued = undefined;
      return this.send();
    });
    this.beating = this.queued.catch(() => {});
    return this.beating;
  }

  /**
   * The last heartbeat: flushes what is buffered, says `offline`, stops. Waits at most
   * `timeoutMs` for a hub that does not answer (what is not sent stays in the spool).
   */
  async stop(finalStatus: WorkerState = 'offline', timeoutMs = 5000): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const state = this.options.state;
    this.options.state = () => ({ ...state(), status: finalStatus });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.beat(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.aborter.abort(); // a hub that never answers must not keep the program alive
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.beat();
      this.schedule();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async send(): Promise<void> {
    const body = await this.build();
    if (this.spool.size > 0) {
      // older beats first: the hub sees the worker's lines in the order they were written
      this.spool.append([body]);
      await this.replay();
      return;
    }
    if (!(await this.deliver(body))) this.spool.append([body]);
    // the lines of a refused beat are counted in a beat of their own now: the refused one may be the last (stop())
    else if (this.unreportedDrops() > 0) await this.deliver(await this.build());
  }

  private async replay(): Promise<void> {
    while (this.spool.size > 0) {
      const { items, next } = this.spool.peek(1);
      const body = items[0];
      if (!body) return;
      if (!(await this.deliver(body))) return;
      this.spool.commit(next, 1);
      this.stats.replayed++;
    }
  }

  /**
   * Sends a beat, with the drops not reported yet; true once the hub has dealt with it. A beat
   * too large for the hub or a proxy before it (413: nginx takes 1 MiB by default) goes again as
   * two halves, each with its own lines, until one line a beat; the lines of a beat refused
   * otherwise (or a line alone too large) are counted in the next beat's dropped_logs.
   */
  private async deliver(body: HeartbeatBody): Promise<boolean> {
    const drops = this.unreportedDrops();
    const answer = await this.post({ ...body, dropped_logs: body.dropped_logs + drops });
    if (answer === 'later') return false;
    if (answer === 'taken') {
      this.reportedDrops += drops;
      return true;
    }
    // refused: the drops it carried were not recorded either; the next beat carries them
    if (answer === 413 && body.logs.length > 1) {
      const half = Math.ceil(body.logs.length / 2);
      if (!(await this.deliver({ ...body, logs: body.logs.slice(0, half), dropped_logs: 0 }))) return false;
      return this.deliver({ ...body, logs: body.logs.slice(half), dropped_logs: 0 });
    }
    this.refusedLines += body.logs.length;
    return true;
  }

  private unreportedDrops(): number {
    return this.spool.dropped + this.refusedLines - this.reportedDrops;
  }

  private async build(): Promise<HeartbeatBody> {
    const snapshot = await this.options.gpu().catch(() => undefined);
    const state = this.options.state();
    return {
      status: state.status,
      current_task_id: state.current_task_id,
      vram_total_mb: snapshot?.vram_total_mb ?? null,
      vram_used_mb: snapshot?.vram_used_mb ?? null,
      gpus: snapshot?.gpus ?? [],
      heartbeat_interval_s: reportedIntervalS(this.options.intervalMs),
      logs: this.options.takeLogs(),
      dropped_logs: 0,
      // fitted to the hub's bound: stats it refuses would cost the beat's lines
      stats: fitJsonObject({ ...state.stats, heartbeats: this.stats, spooled_heartbeats: this.spool.size }),
      session: this.session,
    };
  }

  /** 'taken'; 'later' when it should be sent again later (unreachable, 5xx, no token yet); else the status it was refused with. */
  private async post(body: HeartbeatBody): Promise<'taken' | 'later' | number> {
    try {
      const response = await hubRequest('POST', `${this.options.hub}/api/workers/${encodeURIComponent(this.options.workerId)}/heartbeat`, {
        body: JSON.stringify(body),
        token: this.options.token,
        signal: this.aborter.signal,
        timeoutMs: this.options.requestTimeoutMs ?? 10_000,
      });
      // a hub in trouble, or one that does not take this worker's token (yet: the first token made on
      // a running fleet makes every heartbeat a 401 until the workers get one), is waited for with
      // the lines spooled, not dropped; a worker restarted with a token sends them
      if (response.status >= 500 || RETRY_LATER.has(response.status)) throw new Error(`hub answered ${response.status}: ${await hubError(response)}`);
      if (!response.ok) {
        const what = response.status === 413 && body.logs.length > 1 ? 'sending it again in two halves' : `its ${body.logs.length} lines are dropped (counted in dropped_logs)`;
        this.options.onTrouble?.(`hub refused a heartbeat (${response.status}: ${await hubError(response)}); ${what}`);
      }
      this.stats.sent++;
      if (!this.reachable) this.options.onTrouble?.(`hub reachable again; replaying ${this.spool.size} spooled heartbeats`);
      this.reachable = true;
      return response.ok ? 'taken' : response.status;
    } catch (error) {
      this.stats.failed++;
      if (this.aborter.signal.aborted) return 'later';
      if (this.reachable) this.options.onTrouble?.(`heartbeat failed (${(error as Error).message}); spooling until the hub is back`);
      this.reachable = false;
      return 'later';
    }
  }
}
