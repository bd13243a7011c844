/**
 * Housekeeping: what the hub does on its own. A worker gone offline (5 missed heartbeats) with
 * runs still running: those runs fail, saying so, so nobody waits forever on them; so do runs
 * whose writer stopped renewing its lease (routes/control.ts). Retention:
 * worker lines older than the retention, and ended runs when a run retention is set.
 */
import { nowMicros } from '../core/record.js';
import type { LiveFanout } from '../pipeline/live.js';
import { workerStatus, type Run, type Store } from '../store/store.js';
import { parseIsoMicros } from '../core/time.js';
import type { HubConfig } from '../core/config.js';
import { isStoreUnreachable } from './reachable.js';
import { isDiskFull, type StorageHealth } from './storage.js';
import type { DiskReserve } from './disk-reserve.js';

export interface Deleted {
  worker_lines_deleted: number;
  runs_deleted: number;
}

/** Deletes worker lines older than `workerLinesMs` and, when `runsMs` > 0, ended runs older than it. */
/**
 * Retention now. On a full disk, deleting needs room too: `reserve` (disk-reserve.ts) is given
 * back and the pass tried again; it is made again once the disk has room to spare.
 */
export async function deleteOlderThan(store: Store, workerLinesMs: number, runsMs: number, reserve?: DiskReserve): Promise<Deleted> {
  try {
    return await deleteOnce(store, workerLinesMs, runsMs);
  } catch (error) {
    if (!isDiskFull(error) || reserve?.release() !== true) throw error;
    return await deleteOnce(store, workerLinesMs, runsMs);
  } finally {
    reserve?.ensure();
  }
}

async function deleteOnce(store: Store, workerLinesMs: number, runsMs: number): Promise<Deleted> {
  const now = nowMicros();
  // a retention reaching back past 1970 keeps everything (no line is older; PostgreSQL would refuse the time)
  const cutoff = (ms: number) => Math.max(0, now - ms * 1000);
  const workerLines = await store.deleteLinesBefore('worker:', cutoff(workerLinesMs));
  const runs = runsMs > 0 ? await store.deleteRunsBefore(cutoff(runsMs)) : 0;
  return { worker_lines_deleted: workerLines, runs_deleted: runs };
}

export class Housekeeping {
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private readonly startedAt = nowMicros();

  constructor(
    private readonly store: Store,
    private readonly live: LiveFanout,
    private readonly config: Readonly<HubConfig>,
    private readonly log: (message: string) => void = () => {},
    private readonly storage?: StorageHealth,
  ) {}

  /**
   * Silence counts from the later of the hub's start and the store's last failure: while the store
   * was out of reach (or full), writers' renewals and workers' heartbeats were refused with it, and
   * a run must not be failed as "runner lost" the moment the store is back (its live viewers would
   * see it end, and `submit --wait` report a failure) while its runner is alive and retrying.
   */
  private graceFrom(): number {
    return Math.max(this.startedAt, this.storage?.troubledAt ?? 0);
  }

  start(): void {
    this.timers.push(
      setInterval(
        () =>
          void this.guard('offline', async () => {
            await this.failRunsOfOfflineWorkers();
            await this.failRunsOfLostWriters();
          }),
        this.config.housekeepingMs,
      ).unref(),
    );
    this.timers.push(setInterval(() => void this.guard('retention', () => this.applyRetention()), this.config.cleanupMs).unref());
    void this.guard('retention', () => this.applyRetention());
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  async failRunsOfOfflineWorkers(): Promise<number> {
    let failed = 0;
    const now = nowMicros();
    for (const worker of await this.store.listWorkers(now)) {
      // a worker cannot have reached a hub that was down (or whose store was): its missed beats count from then
      if (worker.last_heartbeat === null) continue; // never heard from: it runs nothing of ours
      const heard = Math.max(parseIsoMicros(worker.last_heartbeat) ?? 0, this.graceFrom());
      if (workerStatus(worker.state, heard, worker.heartbeat_interval_s, now) !== 'offline') continue;
      for (const run of await this.store.runningOn(worker.id)) {
        // marked lost, as a run whose lease ran out: a worker that was only cut off (or is restarted
        // on its data directory) still delivers the lines its write-ahead log holds, and its real end
        const ended = await this.store.finishRun(run.id, {
          status: 'failed',
          error_message: `worker ${worker.id} went offline during the run (last heartbeat ${worker.last_heartbeat})`,
          lost: true,
        });
        if (ended) {
          this.live.publishEnd(ended);
          this.live.publishRun(ended);
        }
        await this.forgetTask(run);
        failed++;
      }
    }
    return failed;
  }

  /**
   * Runs whose writer has been silent for LEASE_MISSES leases fail, marked lost: the writer may
   * have been cut off only, and its real end (POST /finish) replaces this verdict.
   */
  async failRunsOfLostWriters(): Promise<number> {
    const now = nowMicros();
    const lost = await this.store.expiredLeases(now, this.graceFrom());
    for (const run of lost) {
      const lostSince = `runner lost (last heard ${run.last_heard_at ?? run.started_at ?? run.created_at})`;
      // a run asked to cancel whose writer is gone: cancelled is what was asked, and what happened
      const cancelled = run.cancel_requested_by !== null;
      const ended = await this.store.finishRun(run.id, {
        status: cancelled ? 'cancelled' : 'failed',
        error_message: cancelled ? `cancelled by ${run.cancel_requested_by} (${lostSince})` : lostSince,
        completed_at: now,
        lost: true,
      });
      if (ended) {
        this.live.publishEnd(ended);
        this.live.publishRun(ended);
      }
      await this.forgetTask(run);
    }
    return lost.length;
  }

  /**
   * A run the hub ended is no worker's current task any more: `runlog workers` and GET
   * /api/workers would otherwise name it as running on a dead worker for good (its last
   * heartbeat said so). A worker names a run by its id (`runlog worker`) or its task id (the seeds').
   * An open Workers page learns it from a `worker` event, as from a heartbeat.
   */
  private async forgetTask(run: Run): Promise<void> {
    if (run.worker_id === null) return;
    await this.store.clearCurrentTask(run.worker_id, run.task_id === null ? [run.id] : [run.id, run.task_id]);
    const worker = await this.store.getWorker(run.worker_id, nowMicros());
    if (worker) this.live.publishWorker(worker);
  }

  async applyRetention(): Promise<Deleted> {
    const deleted = await deleteOlderThan(this.store, this.config.workerRetentionMs, this.config.runRetentionMs, this.storage?.reserve);
    if (deleted.worker_lines_deleted + deleted.runs_deleted > 0) {
      this.log(`retention: deleted ${deleted.worker_lines_deleted} worker lines and ${deleted.runs_deleted} runs`);
    }
    return deleted;
  }

  /**
   * One pass at a time; a failing pass is logged and the next one tries again. Several hubs on one
   * database: the store's `exclusive` lets one of them do each pass, the others skip it.
   */
  private async guard(name: string, task: () => Promise<unknown>): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await (this.store.exclusive ? this.store.exclusive(name, task) : task());
    } catch (error) {
      if (isStoreUnreachable(error) || isDiskFull(error)) this.storage?.noteTrouble();
      this.log(`housekeeping failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
