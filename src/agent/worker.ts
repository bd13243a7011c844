/**
 * WorkerAgent: `runlog worker`. The SDK's createWorker gives it a logger whose lines ride on
 * heartbeats with its status and GPU memory; on top of that it claims queued runs from the hub and
 * runs them with the Runner, every phase captured and shipped live. On SIGTERM/SIGINT it finishes
 * the task (`--drain`) or hands it back to the queue, flushes, says goodbye and exits.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { clip, MAX_ERROR_MESSAGE } from '../core/cause.js';
import { reportedIntervalS } from '../core/limits.js';
import { nowMicros } from '../core/record.js';
import { terminalSafe } from '../core/terminal.js';
import { lastSeqInWal, walDir } from '../pipeline/spool/wal.js';
import { hubError, hubRequest, jsonOf } from '../sinks/hub-http.js';
import { withTask } from '../sdk/context.js';
import { createWorker, type RunlogWorker } from '../sdk/worker.js';
import { HubShipper } from '../sinks/hub.js';
import type { ClaimedTask } from '../store/store.js';
import { GpuProbe } from './gpu.js';
import { clearGroups, killLeftoverGroups, recordGroup } from './leftovers.js';
import { Runner } from './runner.js';
import { shellJoin } from '../core/text.js';
import { redactUrl } from '../core/redact.js';

export interface WorkerAgentOptions {
  id: string;
  hub: string;
  dataDir: string;
  heartbeatMs: number;
  bufferSize: number;
  spoolDir: string;
  spoolMaxBytes: number;
  pollMs: number;
  drain: boolean;
  debug: boolean;
  /** how often a task's lease is renewed (DEFAULTS.leaseSeconds) */
  leaseSeconds?: number;
}

const STATS_EVERY_MS = 5 * 60_000; // buffer stats in debug mode, as in the seed
const STOP_WAIT_MS = 30_000; // a stopping worker waits this long for a hub that does not answer

export class WorkerAgent {
  private runner: Runner | undefined;
  private shipper: HubShipper | undefined;
  private stopping: 'drain' | 'hand-back' | undefined;
  private currentTask: string | undefined;
  private wakeUp: (() => void) | undefined;

  static async create(options: WorkerAgentOptions): Promise<WorkerAgent> {
    const gpu = new GpuProbe();
    const tasks = { run: 0 };
    const worker = await createWorker({
      id: options.id,
      hub: options.hub,
      heartbeatMs: options.heartbeatMs,
      bufferSize: options.bufferSize,
      spoolDir: options.spoolDir,
      spoolMaxBytes: options.spoolMaxBytes,
      debug: options.debug,
      gpu,
      // where it runs: a second `runlog worker` with this id is refused while this one is online
      stats: () => ({ tasks_run: tasks.run, host: hostname(), pid: process.pid }),
    });
    const agent = new WorkerAgent(options, worker, gpu, tasks);
    // a previous life of this worker, killed with its task running: its command goes now
    for (const { pgid, runId, processes } of killLeftoverGroups(agent.pidsFile)) {
      worker.log.warning(`killed process group ${pgid} (${processes} processes) of task ${runId}, left running by this worker's previous run`);
    }
    return agent;
  }

  /** where the running command's process group is recorded */
  get pidsFile(): string {
    return join(this.options.dataDir, `worker-${this.options.id}.pids`);
  }

  private constructor(
    private readonly options: WorkerAgentOptions,
    private readonly worker: RunlogWorker,
    private readonly gpu: GpuProbe,
    private readonly tasks: { run: number },
  ) {}

  /** Runs until stopped; resolves once the goodbye heartbeat is out. */
  async run(): Promise<void> {
    const log = this.worker.log;
    log.info(`worker ${this.options.id} starting (hub ${redactUrl(this.options.hub)}, heartbeat every ${this.options.heartbeatMs / 1000}s, buffer ${this.worker.buffer.maxSize})`);
    const stats = this.options.debug
      ? setInterval(() => log.child('heartbeat').debug(`log buffer stats: ${JSON.stringify(this.worker.buffer.stats())}`), STATS_EVERY_MS).unref()
      : undefined;
    while (!this.stopping) {
      const task = await this.claim();
      if (task) await this.execute(task);
      else await this.sleep(this.options.pollMs);
    }
    clearInterval(stats);
    log.info(`worker ${this.options.id} stopping: goodbye`);
    await this.worker.stop();
  }

  /** SIGTERM/SIGINT: drain finishes the current task first; otherwise it is handed back. */
  stop(signal: NodeJS.Signals): void {
    if (this.stopping) {
      // a second signal: stop waiting for a hub that does not answer
      this.shipper?.giveUpAfter(0);
      return;
    }
    this.stopping = this.options.drain ? 'drain' : 'hand-back';
    this.worker.setState('draining');
    const task = this.runner ? this.currentTask : undefined;
    const what = task === undefined ? 'no task running' : this.stopping === 'drain' ? `finishing task ${task} first` : `handing task ${task} back`;
    if (task === undefined) this.worker.log.info(`${signal}: ${what}`);
    else withTask(task, () => this.worker.log.info(`${signal}: ${what}`));
    if (this.stopping === 'hand-back' && this.runner) {
      this.shipper?.handBack();
      this.runner.handBack('SIGTERM', `worker ${this.options.id} is stopping (${signal}); the command was stopped and runs again on the next worker that claims it`);
    }
    // lines not delivered after a while stay in the spool for the next start
    this.shipper?.giveUpAfter(STOP_WAIT_MS);
    this.wakeUp?.();
  }

  /** what the last failed claim said (said once until it changes) */
  private lastClaimRefusal: string | undefined;

  private async claim(): Promise<ClaimedTask | undefined> {
    try {
      const response = await hubRequest('POST', `${this.options.hub}/api/tasks/claim`, {
        body: JSON.stringify({ worker_id: this.options.id, heartbeat_interval_s: reportedIntervalS(this.options.heartbeatMs) }),
        timeoutMs: 10_000,
      });
      if (response.ok) this.lastClaimRefusal = undefined;
      if (response.status === 204) return undefined;
      if (!response.ok) {
        // a refusal (a token for another worker, a revoked one) is said once a kind, not every poll
        const message = `${response.status}: ${await hubError(response)}`;
        if (message !== this.lastClaimRefusal) this.worker.log.warning(`the hub refuses to give this worker tasks (${message})`);
        this.lastClaimRefusal = message;
        return undefined;
      }
      return jsonOf<ClaimedTask>(response.text);
    } catch (error) {
      this.worker.log.debug(`no claim: ${(error as Error).message}`);
      return undefined;
    }
  }

  private async execute(task: ClaimedTask): Promise<void> {
    const { run, spec } = task;
    const log = this.worker.log;
    this.worker.setTask(run.id);
    this.currentTask = run.id;
    await withTask(run.id, async () => {
      // the submitter's command, on this worker's terminal: its escape sequences are not the worker's to run
      log.info(`claimed task ${run.id}: ${terminalSafe(run.command ?? shellJoin(spec.command), { colour: false })}`);
      void this.worker.beat();
      // a worker outlives hub outages: its run waits for the hub however long, unless the worker is told to stop
      this.shipper = new HubShipper({
        hub: this.options.hub,
        walDir: walDir(this.options.dataDir),
        // the claim's key proves to the hub that this worker writes the run (older hubs send none)
        writerKey: task.writer_key,
        ownerKind: 'worker',
        workerId: this.options.id,
        finishTimeoutMs: Infinity,
        leaseSeconds: this.options.leaseSeconds,
        onCancel: (by) => {
          log.warning(`task ${run.id} cancelled by ${by}: stopping its command`);
          this.runner?.cancel('SIGTERM', by);
        },
        onTrouble: (message) => this.runner?.trouble('wal', message),
      });
      this.runner = new Runner({
        id: run.id,
        command: spec.command,
        setup: spec.setup,
        name: run.name ?? undefined,
        taskId: run.task_id ?? run.id,
        labels: run.labels,
        cwd: spec.cwd ?? undefined,
        env: { ...process.env, ...spec.env },
        logDir: join(this.options.dataDir, 'logs'),
        echo: false,
        // a task reads no stdin: the worker's may be a pipe that never ends (`ssh host runlog worker`)
        stdin: false,
        // a task this machine ran before: its WAL may hold lines past what the hub has
        lastSeq: Math.max(task.last_seq ?? 0, lastSeqInWal(walDir(this.options.dataDir), run.id)),
        sink: this.shipper,
        gpu: this.gpu,
        warn: (message) => log.warning(message),
        onSpawn: (pgid) => recordGroup(this.pidsFile, pgid, run.id),
        onSpawnEnd: () => clearGroups(this.pidsFile),
      });
      try {
        const outcome = await this.runner.run();
        this.tasks.run++;
        // a hand-back the hub has not taken yet is only in the WAL: it goes at the next start (or runlog sync)
        const handBack = this.shipper?.endDelivered === false ? 'to be handed back once the hub answers (it waits in the write-ahead log: the next runlog worker start, or runlog sync, delivers it)' : 'handed back';
        const how = this.stopping === 'hand-back' ? handBack : `${outcome.status} (exit ${outcome.exit_status})`;
        const line = `task ${run.id} ${how} after ${outcome.duration_seconds.toFixed(1)}s`;
        if (outcome.status === 'failed') log.warning(line);
        else log.info(line);
      } catch (error) {
        // the runner's own failure: the run still ends, failed with the cause, never left `running`
        const message = `runlog could not run task ${run.id}: ${(error as Error).message}`;
        log.error(message);
        await this.shipper?.finish({ status: 'failed', error_message: clip(message, MAX_ERROR_MESSAGE), completed_at: nowMicros() }).catch(() => undefined);
      }
    });
    this.shipper?.close();
    this.runner = undefined;
    this.shipper = undefined;
    this.currentTask = undefined;
    this.worker.setTask(null);
    void this.worker.beat();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
