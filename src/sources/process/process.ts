/**
 * A child process as a byte source: its stdout and stderr reads, as they come, and how it ended.
 *
 * The child gets a process group of its own, so a signal the runner passes on reaches the whole
 * tree (a shell's children, a setup step's pip) once, and a terminal's Ctrl-C reaches the runner
 * alone, which passes it on.
 *
 * The command dies with its runner (issue 9), even when the runner is SIGKILLed: it is spawned
 * with a watchdog beside it (watchdog.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { spawnWatched } from './watchdog.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the command could not be started (not found, not executable) */
  spawnError?: Error;
  /**
   * the command had ended, but a process it left (a daemon, a background job) still held its
   * stdout or stderr open after PIPE_GRACE_MS: those pipes were let go unread from then on
   */
  pipesHeld?: boolean;
}

export interface ProcessHandlers {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

export interface SpawnOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /**
   * the command reads this process's stdin (default) when that is a pipe or a file; false: none
   * (a worker's task, a setup step: they must not read, or wait forever on, whatever the worker's
   * or the runner's stdin is, the pipe of `ssh host runlog worker …` or the command's own input)
   */
  stdin?: boolean;
}

/** a read smaller than this is a trickle (a line or a few), not a command printing flat out */
const TRICKLE_BYTES = 16 * 1024;
/** after a trickle, the next read waits this long, so the lines of a few writes come as one */
const TRICKLE_GAP_MS = 3;
/**
 * Once the command has exited, how long its pipes may stay open before they are let go. A process
 * it started and left running (`setsid server &`, `nohup x &` without a redirect) holds their
 * write ends; waiting for their end-of-file kept the run `running`, and `runlog run` (or the
 * worker, which then claimed nothing more) waiting, for as long as that process lived: forever for
 * a daemon, even after Ctrl-C and SIGKILL of the command's group, which a daemon has left. A
 * background job that finishes its last lines within the grace is still read whole.
 */
export const PIPE_GRACE_MS = 2000;

/**
 * A pipe's reads, handed on as they come, except that after a small read the next one waits a
 * few ms: a command printing a line a millisecond then costs the runner ~300 wakeups a second
 * instead of 1,000, each with its batch of lines (the per-read work, not the per-line work, was
 * most of the runner's CPU at 1,000 lines/s). A full read (a command printing flat out) is never
 * held up, so throughput and the pipe's backpressure are as before. stdout and stderr share one
 * pace, which holds only while one of them has data: once the other has some too, both are read
 * at once, the first to have data first. With a pace each, one pipe waiting let the other overtake
 * it (tqdm's last bar on stderr was stored after the print that follows it).
 */
function readPaced(pipes: readonly { stream: NodeJS.ReadableStream; handler: (chunk: Buffer) => void }[]): () => void {
  let timer: NodeJS.Timeout | undefined;
  // the pipes with unread data, in the order it came
  let ready: number[] = [];
  const drain = () => {
    clearTimeout(timer);
    timer = undefined;
    let trickle = false;
    const order = ready;
    ready = [];
    for (const index of order) {
      const { stream, handler } = pipes[index]!;
      // read() without a size gives everything buffered, as one chunk
      for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
        handler(chunk);
        if (chunk.length < TRICKLE_BYTES) trickle = true;
      }
    }
    if (trickle) timer = setTimeout(drain, TRICKLE_GAP_MS);
  };
  pipes.forEach(({ stream }, index) =>
    stream.on('readable', () => {
      if (!ready.includes(index)) ready.push(index);
      // the pace holds while one pipe alone has data; a second one is read at once, after the first
      if (timer === undefined || ready.length > 1) drain();
    }),
  );
  // everything buffered now, handed on at once (before the pipes are let go)
  return () => {
    ready = pipes.map((_, index) => index);
    drain();
    clearTimeout(timer);
    timer = undefined;
  };
}

export class CapturedProcess {
  readonly exited: Promise<ProcessExit>;
  /** undefined when spawn refused the command outright (see the constructor) */
  private readonly child: ChildProcess | undefined;
  private readonly settled: () => void = () => {};

  constructor(argv: readonly string[], options: SpawnOptions, handlers: ProcessHandlers) {
    const [file, ...args] = argv;
    let watched;
    try {
      if (file === undefined) throw new Error('nothing to run');
      watched = spawnWatched(file, args, {
        cwd: options.cwd,
        env: options.env,
        // a child in a group of its own must not read the terminal (it would be stopped): only pipes and files
        stdio: [options.stdin === false || process.stdin.isTTY ? 'ignore' : 'inherit', 'pipe', 'pipe'],
      });
    } catch (error) {
      // spawn throws, rather than emitting 'error', for a NUL byte in an argument, the environment
      // or the directory, and for E2BIG: the command could not start, like a command not found,
      // and its run must end failed with the cause (it stayed `running` when this threw)
      this.child = undefined;
      this.exited = Promise.resolve({ code: null, signal: null, spawnError: spawnRefusal(file ?? '', error) });
      return;
    }
    this.child = watched.child;
    this.settled = watched.settled;
    const flush = readPaced([
      ...(this.child.stdout ? [{ stream: this.child.stdout, handler: handlers.stdout }] : []),
      ...(this.child.stderr ? [{ stream: this.child.stderr, handler: handlers.stderr }] : []),
    ]);
    const child = this.child;
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      let pipesHeld = false;
      let grace: NodeJS.Timeout | undefined;
      child.on('error', (error) => (spawnError = error));
      // the command has exited; its pipes close once every process holding them has (see PIPE_GRACE_MS)
      child.on('exit', () => {
        grace = setTimeout(() => {
          pipesHeld = true;
          flush();
          // destroying both streams makes 'close' come, with the command's code and signal
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, PIPE_GRACE_MS);
      });
      // 'close', not 'exit': every byte of both pipes has been read by then
      child.on('close', (code, signal) => {
        clearTimeout(grace);
        this.settled(); // ended by itself: the watchdog goes without killing
        resolve({ code, signal, spawnError, ...(pipesHeld ? { pipesHeld } : {}) });
      });
    });
  }

  /** The command's pid, which is also its process group id (undefined when it could not start). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends `signal` to the child's whole process group. */
  kill(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Why spawn refused a command, naming it as a spawn 'error' does (`spawn /bin/nope ENOENT`), without
 * the value Node quotes ("Received 'se\x00cret'"): an environment variable's value is often a
 * secret, and this message becomes the run's error.
 */
function spawnRefusal(file: string, error: unknown): Error {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\.? Received .*$/s, '');
  // E2BIG says `spawn E2BIG`; a NUL byte says which argument, not which command
  return new Error(message.startsWith('spawn ') ? `spawn ${file} ${message.slice('spawn '.length)}` : `spawn ${file}: ${message}`);
}

/** The shell's convention for an exit: the code, or 128 + the signal's number. */
export function exitStatus(exit: ProcessExit): number {
  if (exit.spawnError) return 127;
  if (exit.code !== null) return exit.code;
  const number = exit.signal ? constants.signals[exit.signal] : undefined;
  return 128 + (number ?? 0);
}
