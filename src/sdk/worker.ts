/**
 * createWorker: the seeds' worker logging in one call. A namespaced logger whose lines go into a
 * bounded buffer (flushed at once when full), and a heartbeat every interval that carries the
 * worker's status, its GPU memory, its current task and the buffered lines, spooled on disk while
 * the hub is away. Lines logged inside withTask() or while a task is set carry its id.
 *
 *   const worker = await createWorker({ id: 'gpu-7', hub: 'http://hub:7070' });
 *   worker.log.info('model loaded');
 *   await worker.stop(); // the last lines, and `offline`
 *
 * Logging never throws and never waits on the network; a broken hub never breaks the program.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULTS } from '../core/config.js';
import { isValidId, type LogRecord } from '../core/record.js';
import { GpuProbe } from '../agent/gpu.js';
import { HeartbeatLoop } from '../agent/heartbeat.js';
import { workerStream, type WorkerState } from '../store/store.js';
import { LogBuffer } from './buffer.js';
import { hubRequest, jsonOf } from '../sinks/hub-http.js';
import { createLogger, type Logger } from './logger.js';
import { makeDirectory, privateTempDir } from '../core/make-dir.js';

export interface WorkerOptions {
  id: string;
  /** default: env RUNLOG_HUB, else http://127.0.0.1:7070 */
  hub?: string;
  /** a `worker` token bound to this id; default: env RUNLOG_TOKEN, else the file RUNLOG_TOKEN_FILE names */
  token?: string;
  /** ms between heartbeats; default: env HEARTBEAT_INTERVAL (seconds), else 20 s */
  heartbeatMs?: number;
  /** lines buffered before a flush; default: env LOG_BUFFER_SIZE, else 100 */
  bufferSize?: number;
  /** where heartbeats wait while the hub is away; default <tmpdir>/runlog-spool-<uid>, this user's only */
  spoolDir?: string;
  spoolMaxBytes?: number;
  /** debug format and level; default: env RUNLOG_DEBUG */
  debug?: boolean;
  /** where the worker's lines are also written (default process.stderr; false: nowhere) */
  console?: boolean | NodeJS.WritableStream;
  gpu?: GpuProbe;
  /** more stats to send with each heartbeat */
  stats?: () => Record<string, unknown>;
}

export interface RunlogWorker {
  readonly id: string;
  readonly log: Logger;
  readonly buffer: LogBuffer;
  /** the task being worked on (its id goes with each heartbeat), or null when idle */
  setTask(taskId: string | null): void;
  setState(state: WorkerState): void;
  /** a heartbeat now */
  beat(): Promise<void>;
  /** the last heartbeat, with what is still buffered and status `offline` */
  stop(): Promise<void>;
}

export async function createWorker(options: WorkerOptions): Promise<RunlogWorker> {
  if (!isValidId(options.id)) throw new Error(`worker id: expected [A-Za-z0-9][A-Za-z0-9._:-]{0,127}, got ${JSON.stringify(options.id)}`);
  const hub = (options.hub ?? process.env.RUNLOG_HUB ?? DEFAULTS.hub).replace(/\/+$/, '');
  const spoolDir = options.spoolDir ?? privateTempDir('runlog-spool');
  const seqFile = join(spoolDir, `worker-${options.id}.seq`);
  const firstSeq = Math.max(await hubLastSeq(hub, options.id, options.token), readSeq(seqFile)) + 1;
  const gpu = options.gpu ?? new GpuProbe();
  let state: WorkerState = 'idle';
  let task: string | null = null;
  const fullBatches: LogRecord[][] = [];

  const buffer = new LogBuffer({
    maxSize: options.bufferSize,
    // a full buffer goes out at once, not at the next beat
    onFull: (records) => {
      fullBatches.push(records);
      void heartbeat.beat();
    },
  });
  const log = createLogger('runlog.worker', {
    debug: options.debug,
    console: options.console,
    stream: workerStream(options.id),
    firstSeq,
    sink: buffer.add,
  });
  const heartbeat = new HeartbeatLoop({
    hub,
    token: options.token,
    workerId: options.id,
    intervalMs: options.heartbeatMs ?? heartbeatFromEnv(),
    spoolDir,
    spoolMaxBytes: options.spoolMaxBytes ?? DEFAULTS.spoolMaxBytes,
    takeLogs: () => {
      const logs = fullBatches.splice(0).flat().concat(buffer.flush());
      // a restarted worker numbers on after what it sent, so its seqs stay the hub's (server/worker-lines.ts)
      const last = logs.at(-1);
      if (last) writeSeq(seqFile, last.seq);
      return logs;
    },
    state: () => ({ status: state, current_task_id: task, stats: { ...buffer.stats(), ...options.stats?.() } }),
    gpu: () => gpu.snapshot(),
    onTrouble: (message) => log.child('heartbeat').warning(message),
  });
  heartbeat.start();
  return {
    id: options.id,
    log,
    buffer,
    setTask(taskId) {
      task = taskId;
      if (state !== 'draining') state = taskId === null ? 'idle' : 'busy';
    },
    setState(next) {
      state = next;
    },
    beat: () => heartbeat.beat(),
    stop: () => heartbeat.stop('offline'),
  };
}

function heartbeatFromEnv(): number {
  const seconds = Number(process.env.HEARTBEAT_INTERVAL);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULTS.heartbeatSeconds * 1000;
}

/** The last seq the hub has of this worker's lines (0 when it does not answer). */
async function hubLastSeq(hub: string, id: string, token: string | undefined): Promise<number> {
  try {
    const response = await hubRequest('GET', `${hub}/api/workers/${encodeURIComponent(id)}`, { token, timeoutMs: 3000 });
    return response.ok ? (jsonOf<{ last_seq?: number }>(response.text)?.last_seq ?? 0) : 0;
  } catch {
    return 0;
  }
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
    makeDirectory(dirname(file));
    writeFileSync(file, String(seq));
  } catch {
    // without it a restarted worker asks the hub; never a reason to stop
  }
}
