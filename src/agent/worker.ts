/**
 * WorkerAgent: a long-lived agent on a machine. It sends heartbeats that carry its status, its
 * GPU memory, its current task and its own lines; it claims queued runs from the hub and runs them
 * with the Runner, every phase captured and shipped live. On SIGTERM/SIGINT it finishes the task
 * (`--drain`) or hands it back to the queue, flushes, says goodbye and exits.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LogRecord } from '../core/record.js';
import { createLogger, type Logger } from '../sdk/logger.js';
import { LogBuffer } from '../sdk/buffer.js';
import { withTask } from '../sdk/context.js';
import { HubShipper } from '../sinks/hub.js';
import type { ClaimedTask, WorkerState } from '../store/store.js';
import { workerStream } from '../store/store.js';
import { GpuProbe } from './gpu.js';
import { HeartbeatLoop } from './heartbeat.js';
import { Runner } from './runner.js';

export interface WorkerOptions {
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
  gpu?: GpuProbe;
}

const STATS_EVERY_MS = 5 * 60_000; // buffer stats in debug mode, as in the seed

export class WorkerAgent {
  readonly log: Logger;
  private readonly buffer: LogBuffer;
  private readonly fullBatches: LogRecord[][] = [];
  private readonly heartbeat: HeartbeatLoop;
  private readonly gpu: GpuProbe;
  private state: WorkerState = 'idle';
  private currentTask: string | null = null;
  private runner: Runner | undefined;
  private shipper: HubShipper | undefined;
  private stopping: 'drain' | 'hand-back' | undefined;
  private wakeUp: (() => void) | undefined;
  private tasksRun = 0;

  /** A worker numbering its lines after the last seq the hub (or its own seq file) has. */
  static async create(options: WorkerOptions): Promise<WorkerAgent> {
    let hubSeq = 0;
    try {
      const response = await fetch(`${options.hub}/api/workers/${encodeURIComponent(options.id)}`, { signal: AbortSignal.timeout(3000) });
      if (response.ok) hubSeq = ((await response.json()) as { last_seq?: number }).last_seq ?? 0;
    } catch {
      // the hub is away: the seq file alone tells where we were
    }
    return new WorkerAgent(options, Math.max(hubSeq, readSeq(seqFile(options))));
  }

  private constructor(
    private readonly options: WorkerOptions,
    lastSeq: number,
  ) {
    this.gpu = options.gpu ?? new GpuProbe();
    this.buffer = new LogBuffer({
      maxSize: options.bufferSize,
      // a full buffer goes out at once, not at the next beat
      onFull: (records) => {
        this.fullBatches.push(records);
        void this.heartbeat.beat();
      },
    });
    this.log = createLogger('runlog.worker', {
      debug: options.debug,
      stream: workerStream(options.id),
      firstSeq: lastSeq + 1,
      sink: this.buffer.add,
    });
    this.heartbeat = new HeartbeatLoop({
      hub: options.hub,
      workerId: options.id,
      intervalMs: options.heartbeatMs,
      spoolDir: options.spoolDir,
      spoolMaxBytes: options.spoolMaxBytes,
      takeLogs: () => this.takeLogs(),
      state: () => ({ status: this.state, current_task_id: this.currentTask, stats: { ...this.buffer.stats(), tasks_run: this.tasksRun } }),
      gpu: () => this.gpu.snapshot(),
      onTrouble: (message) => this.log.child('heartbeat').warning(message),
    });
  }

  /** Runs until stopped; resolves once the goodbye heartbeat is out. */
  async run(): Promise<void> {
    this.log.info(`worker ${this.options.id} starting (hub ${this.options.hub}, heartbeat every ${this.options.heartbeatMs / 1000}s, buffer ${this.buffer.maxSize})`);
    this.heartbeat.start();
    const stats = this.options.debug
      ? setInterval(() => this.log.child('heartbeat').debug(`log buffer stats: ${JSON.stringify(this.buffer.stats())}`), STATS_EVERY_MS).unref()
      : undefined;
    while (!this.stopping) {
      const task = await this.claim();
      if (task) await this.execute(task);
      else await this.sleep(this.options.pollMs);
    }
    clearInterval(stats);
    this.log.info(`worker ${this.options.id} stopping: goodbye`);
    await this.heartbeat.stop('offline');
  }

  /** SIGTERM/SIGINT: drain finishes the current task first; otherwise it is handed back. */
  stop(signal: NodeJS.Signals): void {
    if (this.stopping) return;
    this.stopping = this.options.drain ? 'drain' : 'hand-back';
    this.state = this.currentTask && this.stopping === 'drain' ? 'draining' : this.state;
    this.log.info(`${signal}: ${this.stopping === 'drain' ? 'finishing the current task first' : 'handing the current task back'}`);
    if (this.stopping === 'hand-back' && this.runner) {
      this.shipper?.handBack();
      this.runner.cancel('SIGTERM');
    }
    this.wakeUp?.();
  }

  private async claim(): Promise<ClaimedTask | undefined> {
    try {
      const response = await fetch(`${this.options.hub}/api/tasks/claim`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ worker_id: this.options.id }),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 204) return undefined;
      const body = (await response.json()) as ClaimedTask & { message?: string };
      if (!response.ok) throw new Error(body.message ?? `hub answered ${response.status}`);
      return body;
    } catch (error) {
      this.log.debug(`no claim: ${(error as Error).message}`);
      return undefined;
    }
  }

  private async execute(task: ClaimedTask): Promise<void> {
    const { run, spec } = task;
    this.currentTask = run.id;
    this.state = 'busy';
    await withTask(run.id, async () => {
      this.log.info(`claimed task ${run.id}: ${run.command ?? spec.command.join(' ')}`);
      void this.heartbeat.beat();
      this.shipper = new HubShipper({ hub: this.options.hub, spoolDir: this.options.spoolDir, finishTimeoutMs: 30_000 });
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
        lastSeq: task.last_seq,
        sink: this.shipper,
        warn: (message) => this.log.warning(message),
      });
      try {
        const outcome = await this.runner.run();
        this.tasksRun++;
        const how = this.stopping === 'hand-back' ? 'handed back' : `${outcome.status} (exit ${outcome.exit_status})`;
        this.log.info(`task ${run.id} ${how} after ${outcome.duration_seconds.toFixed(1)}s`);
      } catch (error) {
        this.log.error(`task ${run.id} could not run: ${(error as Error).message}`);
      }
    });
    this.runner = undefined;
    this.shipper = undefined;
    this.currentTask = null;
    this.state = this.stopping ? 'draining' : 'idle';
    void this.heartbeat.beat();
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

  /** The lines for a heartbeat; their last seq is kept, so a restarted worker numbers on after it. */
  private takeLogs(): LogRecord[] {
    const logs = this.fullBatches.splice(0).flat().concat(this.buffer.flush());
    const last = logs.at(-1);
    if (last) writeSeq(seqFile(this.options), last.seq);
    return logs;
  }
}

function seqFile(options: WorkerOptions): string {
  return join(options.spoolDir, `worker-${options.id}.seq`);
}

function readSeq(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

function writeSeq(file: string, seq: number): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, String(seq));
  } catch {
    // without it a restarted worker asks the hub; never a reason to stop
  }
}
