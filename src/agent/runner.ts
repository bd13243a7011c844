/**
 * Runner: runs one command, with its setup steps, and captures every line of it.
 *
 * process → RecordBuilder (seq, level, tracebacks, progress) → log file + the run's sink (hub or
 * local store) + a ring of recent records. Setup steps run first, through the shell, in phase
 * `setup`; one that fails fails the run and the command does not start. The command's exit code is
 * the runner's: logging trouble never changes it.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ring } from '../core/ring.js';
import { nowMicros, type LogRecord, type ProgressUpdate } from '../core/record.js';
import { clip, MAX_ERROR_MESSAGE } from '../core/cause.js';
import { RecordBuilder, type RecordSink } from '../pipeline/records.js';
import { LogFileSink } from '../sinks/log-file.js';
import type { RunSink } from '../sinks/sink.js';
import { FileFollower } from '../sources/file/follower.js';
import { CapturedProcess, exitStatus, type ProcessExit } from '../sources/process/process.js';
import type { Run, RunFinish, RunStatus } from '../store/store.js';
import { collectDiagnostics, writeDiagnostics, type CommandRecord } from './diagnostics.js';
import type { GpuProbe } from './gpu.js';
import { shellJoin } from '../core/text.js';

export interface RunnerOptions {
  id: string;
  command: readonly string[];
  setup?: readonly string[];
  name?: string;
  taskId?: string;
  labels?: Record<string, string>;
  cwd?: string;
  logDir: string;
  env?: NodeJS.ProcessEnv;
  /** show the command's output as it comes (stdout to stdout, stderr to stderr) */
  echo?: boolean;
  /** the command reads this process's stdin (default true; a worker's tasks get none) */
  stdin?: boolean;
  maxLineBytes?: number;
  sink: RunSink;
  /** the last seq already stored for this run (a task run again numbers its lines on) */
  lastSeq?: number;
  /** recent records kept in memory (the runner's ring buffer) */
  recentLines?: number;
  /** the runner's own trouble (a log file it cannot write), for the user's terminal */
  warn?: (message: string) => void;
  /** each command's process group as it starts and ends (a worker records them, to clean up after a crash) */
  onSpawn?: (pgid: number) => void;
  onSpawnEnd?: (pgid: number) => void;
  /** collect diagnostics when the run fails (default true); the GPU probe they use */
  diagnostics?: boolean;
  gpu?: GpuProbe;
  /** files (paths or globs) the command writes: their lines join the run (source `file`), read to their end before it ends */
  follow?: readonly string[];
}

export interface RunOutcome {
  id: string;
  status: RunStatus;
  exit_code: number | null;
  signal: string | null;
  /** what the runner itself exits with: the command's code, or 128 + signal */
  exit_status: number;
  error_message: string | null;
  log_path: string;
  started_at: number;
  completed_at: number;
  duration_seconds: number;
  line_count: number;
  /** lines the runner could not keep (its disk full): in the log file / neither on disk nor delivered */
  dropped: { logFile: number; lines: number };
  recent: Ring<LogRecord>;
  /** the run as the sink stored it, when it could */
  stored?: Run;
}

const KILL_GRACE_MS = 10_000;

/** the command's output echoed on our stdout ended inside a line (see stdoutLineOpen) */
let stdoutMidLine = false;

function echoStdout(chunk: Buffer): void {
  // a reader that went away (`| head`): the command goes on, captured, no longer shown
  if (chunk.length === 0 || process.stdout.destroyed) return;
  process.stdout.write(chunk);
  stdoutMidLine = chunk[chunk.length - 1] !== 0x0a;
}

/**
 * The command's last output on our stdout did not end its line (`printf abc`, a kill mid-line):
 * what runlog prints on stdout after it (`--json`'s summary) must start a line of its own, or the
 * summary is glued to the command's text and no longer the last line's JSON.
 */
export function stdoutLineOpen(): boolean {
  return stdoutMidLine;
}

export class Runner {
  private current: CapturedProcess | undefined;
  private cancelledBy: string | undefined;
  private cancelSignal: NodeJS.Signals | undefined;
  private handedBack: string | undefined;
  private builder: RecordBuilder | undefined;
  private readonly troubleSaid = new Set<string>();
  private killTimer: NodeJS.Timeout | undefined;
  /** every command that ran, for the diagnostics */
  private readonly commands: CommandRecord[] = [];

  /** the run has its end (no command runs any more): what is left is delivering it */
  ended = false;

  constructor(private readonly options: RunnerOptions) {}

  /**
   * Passes a signal on to the command's group (Ctrl-C, SIGTERM, or a cancel from the hub `by`
   * someone); the run ends `cancelled`, SIGKILL follows 10 s later. A second one kills at once.
   */
  cancel(signal: NodeJS.Signals, by: string = signal): void {
    const again = this.cancelledBy !== undefined;
    this.cancelledBy ??= by;
    this.cancelSignal ??= signal;
    this.current?.kill(again ? 'SIGKILL' : signal);
    this.killTimer ??= setTimeout(() => this.current?.kill('SIGKILL'), KILL_GRACE_MS).unref();
  }

  /**
   * The worker stops and hands the task back to the queue: the command is stopped as by cancel(),
   * but the run's last line says it goes back to the queue (it said "cancelled by SIGTERM", in a
   * run that another worker then completed).
   */
  handBack(signal: NodeJS.Signals, why: string): void {
    this.handedBack ??= why;
    this.cancel(signal);
  }

  async run(): Promise<RunOutcome> {
    const o = this.options;
    // spawn would report a missing cwd as a missing command (`spawn /bin/sh ENOENT`)
    if (o.cwd !== undefined && !isDirectory(o.cwd)) return this.refuse(`working directory ${o.cwd} does not exist`);
    const startedAt = nowMicros();
    const logFile = new LogFileSink(o.logDir, o.id, (message) => this.trouble('logfile', message), () => o.sink.flushDurable?.());
    const recent = new Ring<LogRecord>(o.recentLines ?? 1000);
    const builder = new RecordBuilder({
      stream: o.id,
      taskId: o.taskId,
      maxLineBytes: o.maxLineBytes,
      lastSeq: o.lastSeq,
      // the run's sink first: a line is in the WAL's buffer before it is in the log file's
      sink: teeSink([o.sink, logFile, { record: (r) => recent.push(r), progress: () => {} }]),
    });
    this.builder = builder;
    o.sink.start({
      id: o.id,
      name: o.name ?? null,
      command: shellJoin(o.command),
      status: 'running',
      started_at: startedAt,
      log_path: logFile.path,
      task_id: o.taskId ?? null,
      labels: o.labels ?? {},
    });
    const env: NodeJS.ProcessEnv = { PYTHONUNBUFFERED: '1', ...(o.env ?? process.env), RUNLOG_RUN_ID: o.id };
    // the hub's token is runlog's, not the job's: a job that prints its environment must not log it
    delete env.RUNLOG_TOKEN;
    delete env.RUNLOG_TOKEN_FILE;
    // a file already there holds an earlier run's lines: only what is written from now on (a
    // command that truncates it, like `tee`, is read from the start again)
    const follower = o.follow?.length ? new FileFollower({ patterns: o.follow.map((path) => resolve(o.cwd ?? '.', path)), target: builder, fromEnd: true }) : undefined;
    follower?.start();

    let exit: ProcessExit | undefined;
    let failure: string | undefined;
    const steps = o.setup ?? [];
    builder.phase = 'setup';
    for (const [index, step] of steps.entries()) {
      if (this.cancelledBy) break;
      builder.system(`setup ${index + 1}/${steps.length}: ${step}`);
      // a setup step reads no stdin: what is piped to `runlog run` is the command's
      exit = await this.spawn(['/bin/sh', '-c', step], builder, env, false);
      if (exitStatus(exit) !== 0) {
        failure = `setup step ${index + 1} (${step}) failed: ${describeExit(exit)}`;
        break;
      }
    }
    if (failure === undefined && !this.cancelledBy) {
      builder.phase = 'run';
      exit = await this.spawn(o.command, builder, env, o.stdin ?? true);
      if (exitStatus(exit) !== 0) failure = describeExit(exit);
    }
    clearTimeout(this.killTimer);
    follower?.stop(true);
    follower?.close();
    // a --follow name no file ever had (a typo, a file the command did not write) is said, not silent
    for (const pattern of follower?.neverMatched() ?? []) {
      const notice = `--follow ${pattern}: no such file appeared while the command ran`;
      builder.system(notice, 'WARNING');
      this.options.warn?.(notice);
    }

    const status: RunStatus = this.cancelledBy ? 'cancelled' : failure !== undefined ? 'failed' : 'completed';
    const cause = builder.cause.message();
    let errorMessage: string | null = null;
    if (status === 'cancelled') errorMessage = `cancelled by ${this.cancelledBy}`;
    else if (status === 'failed') {
      errorMessage = failure?.startsWith('setup') ? `${failure}${cause ? `: ${cause}` : ''}` : (cause ?? failure ?? null);
    }
    if (errorMessage !== null) {
      errorMessage = clip(errorMessage, MAX_ERROR_MESSAGE);
      if (this.handedBack !== undefined) builder.system(clip(`handed back to the queue: ${this.handedBack}`, MAX_ERROR_MESSAGE), 'WARNING');
      else if (status !== 'completed') builder.system(errorMessage, status === 'failed' ? 'ERROR' : 'WARNING');
    }
    const diagnostics = status === 'failed' && o.diagnostics !== false ? await this.diagnose(builder, o.logDir) : undefined;
    logFile.close();
    // a full disk never changes the exit code, but the run says what it could not keep
    const dropped = { logFile: logFile.lost, lines: o.sink.lost ?? 0 };
    const why = errorMessage;
    const withDrops = (): string | null => {
      const note = describeDrops(dropped);
      return note === undefined ? why : clip(why === null ? `runlog: ${note}` : `${why} (runlog: ${note})`, MAX_ERROR_MESSAGE);
    };
    const dropNote = describeDrops(dropped);
    if (dropNote !== undefined) builder.system(`runlog: ${dropNote}`, 'WARNING');
    errorMessage = withDrops();
    const completedAt = nowMicros();
    const finish: RunFinish = {
      status,
      exit_code: exit?.spawnError ? 127 : (exit?.code ?? null),
      signal: exit?.signal ?? null,
      error_message: errorMessage,
      completed_at: completedAt,
      diagnostics,
    };
    this.ended = true;
    const stored = await o.sink.finish(finish);
    // lines only memory held (the disk full) that the hub never took either: lost with this process
    if ((o.sink.lost ?? 0) > dropped.lines) {
      dropped.lines = o.sink.lost ?? 0;
      errorMessage = withDrops();
      finish.error_message = errorMessage;
      o.sink.rewriteEnd?.(finish);
    }
    this.builder = undefined; // the run is over: later trouble goes to the terminal only
    return {
      id: o.id,
      status,
      exit_code: finish.exit_code ?? null,
      signal: finish.signal ?? null,
      exit_status: exit ? exitStatus(exit) : 130,
      error_message: errorMessage,
      log_path: logFile.path,
      started_at: startedAt,
      completed_at: completedAt,
      duration_seconds: (completedAt - startedAt) / 1e6,
      line_count: builder.lastSeq - (o.lastSeq ?? 0),
      dropped,
      recent,
      stored,
    };
  }

  /**
   * The runner's own trouble (its disk full, …): said on the terminal and as a `system` line of the
   * run, once per kind. Deferred: it may be reported from inside a sink's write.
   */
  trouble(kind: string, message: string): void {
    if (this.troubleSaid.has(kind)) return;
    this.troubleSaid.add(kind);
    this.options.warn?.(message);
    setImmediate(() => this.builder?.system(`runlog: ${message}`, 'WARNING'));
  }

  /** A run that cannot start at all: it is stored as failed, with the reason, and nothing runs. */
  private async refuse(reason: string): Promise<RunOutcome> {
    const o = this.options;
    const startedAt = nowMicros();
    const recent = new Ring<LogRecord>(1);
    o.sink.start({
      id: o.id,
      name: o.name ?? null,
      command: shellJoin(o.command),
      status: 'running',
      started_at: startedAt,
      task_id: o.taskId ?? null,
      labels: o.labels ?? {},
    });
    const builder = new RecordBuilder({ stream: o.id, taskId: o.taskId, lastSeq: o.lastSeq, sink: o.sink });
    builder.system(reason, 'ERROR');
    const completedAt = nowMicros();
    this.ended = true;
    const stored = await o.sink.finish({ status: 'failed', exit_code: 127, error_message: reason, completed_at: completedAt });
    o.warn?.(reason);
    return {
      id: o.id,
      status: 'failed',
      exit_code: 127,
      signal: null,
      exit_status: 127,
      error_message: reason,
      log_path: '',
      started_at: startedAt,
      completed_at: completedAt,
      duration_seconds: (completedAt - startedAt) / 1e6,
      line_count: 1,
      dropped: { logFile: 0, lines: 0 },
      recent,
      stored,
    };
  }

  /** What the machine looked like when the run failed; never fails the run further. */
  private async diagnose(builder: RecordBuilder, logDir: string) {
    builder.phase = 'diagnostics';
    try {
      const diagnostics = await collectDiagnostics({ runId: this.options.id, commands: this.commands, gpu: this.options.gpu, cwd: this.options.cwd });
      const path = writeDiagnostics(logDir, diagnostics);
      const skipped = diagnostics.probes.filter((probe) => !probe.ok).map((probe) => `${probe.name} (${probe.note})`);
      builder.system(`diagnostics written to ${path}${skipped.length > 0 ? `; skipped: ${skipped.join(', ')}` : ''}`);
      return diagnostics;
    } catch (error) {
      builder.system(`diagnostics could not be collected: ${(error as Error).message}`, 'WARNING');
      return undefined;
    }
  }

  private async spawn(argv: readonly string[], builder: RecordBuilder, env: NodeJS.ProcessEnv, stdin: boolean): Promise<ProcessExit> {
    const echo = this.options.echo ?? true;
    const stdout = builder.source('stdout');
    const stderr = builder.source('stderr');
    const child = new CapturedProcess(
      argv,
      { cwd: this.options.cwd, env, stdin },
      {
        stdout: (chunk) => {
          if (echo) echoStdout(chunk);
          stdout.push(chunk);
        },
        stderr: (chunk) => {
          if (echo && !process.stderr.destroyed) process.stderr.write(chunk);
          stderr.push(chunk);
        },
      },
    );
    this.current = child;
    const pgid = child.pid;
    if (pgid !== undefined) this.options.onSpawn?.(pgid);
    const record: CommandRecord = { phase: builder.phase, command: shellJoin(argv), exit_code: null, signal: null };
    this.commands.push(record);
    if (this.cancelSignal) child.kill(this.cancelSignal);
    const exit = await child.exited;
    this.current = undefined;
    if (pgid !== undefined) this.options.onSpawnEnd?.(pgid);
    record.exit_code = exit.spawnError ? 127 : exit.code;
    record.signal = exit.signal;
    stdout.end();
    stderr.end();
    if (exit.spawnError) builder.system(`could not start ${argv[0]}: ${exit.spawnError.message}`, 'ERROR');
    if (exit.pipesHeld) {
      builder.system(
        `the command ended, but a process it started still holds its output open (a daemon or a background job): what it prints from now on is not captured`,
        'WARNING',
      );
    }
    return exit;
  }
}

function describeDrops(dropped: { logFile: number; lines: number }): string | undefined {
  const parts = [];
  if (dropped.lines > 0) parts.push(`${dropped.lines} lines dropped (disk full: neither on disk nor delivered)`);
  if (dropped.logFile > 0) parts.push(`${dropped.logFile} lines missing from the log file (disk full)`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

function describeExit(exit: ProcessExit): string {
  if (exit.spawnError) return `could not start: ${exit.spawnError.message}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}

function teeSink(sinks: readonly RecordSink[]): RecordSink {
  return {
    record(record: LogRecord) {
      for (const sink of sinks) sink.record(record);
    },
    progress(update: ProgressUpdate) {
      for (const sink of sinks) sink.progress(update);
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

