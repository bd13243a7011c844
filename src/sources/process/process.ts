/**
 * A child process as a byte source: its stdout and stderr reads, as they come, and how it ended.
 *
 * The child gets a process group of its own, so a signal the runner passes on reaches the whole
 * tree (a shell's children, a setup step's pip) once, and a terminal's Ctrl-C reaches the runner
 * alone, which passes it on.
 *
 * The command dies with its runner (issue 9), even when the runner is SIGKILLed: beside each
 * command runs a watchdog, `/bin/sh -c 'read g; read _ || kill -9 -$g'`, in a session of its own,
 * whose stdin is a pipe from the runner. It is started before the command and told the command's
 * process group as soon as spawn returns; should the runner die before that, the watchdog finds
 * the command by a mark in its environment (RUNLOG_WATCHDOG, in /proc/<pid>/environ). Nobody else holds that pipe's write end (Node opens its fds
 * close-on-exec), so when the runner dies, however it dies, the kernel closes it, `read` sees
 * end-of-file, and the watchdog kills the command's whole process group: a shell and the children
 * it waits for, printing or not. When the command ends normally the runner writes a newline and
 * the watchdog exits without killing. Why not `setpriv --pdeathsig SIGKILL`: the parent-death
 * signal reaches only the direct child (the shell), and its group lives on; it also needs
 * util-linux. Costs one small `sh` per command (~1 ms). A command that leaves its process group
 * (setsid, a daemon) escapes it, as it would escape a signal to the group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the command could not be started (not found, not executable) */
  spawnError?: Error;
}

export interface ProcessHandlers {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

export interface SpawnOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
}

/** a read smaller than this is a trickle (a line or a few), not a command printing flat out */
const TRICKLE_BYTES = 16 * 1024;
/** after a trickle, the next read waits this long, so the lines of a few writes come as one */
const TRICKLE_GAP_MS = 3;

/**
 * A pipe's reads, handed on as they come, except that after a small read the next one waits a
 * few ms: a command printing a line a millisecond then costs the runner ~300 wakeups a second
 * instead of 1,000, each with its batch of lines (the per-read work, not the per-line work, was
 * most of the runner's CPU at 1,000 lines/s). A full read (a command printing flat out) is never
 * held up, so throughput and the pipe's backpressure are as before.
 */
function readPaced(stream: NodeJS.ReadableStream, handler: (chunk: Buffer) => void): void {
  let waiting = false;
  const drain = () => {
    waiting = false;
    // read() without a size gives everything buffered, as one chunk
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
      handler(chunk);
      if (chunk.length < TRICKLE_BYTES) {
        waiting = true;
        setTimeout(drain, TRICKLE_GAP_MS);
        return;
      }
    }
  };
  stream.on('readable', () => {
    if (!waiting) drain();
  });
}

export class CapturedProcess {
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly watchdog: ChildProcess | undefined;

  constructor(argv: readonly string[], options: SpawnOptions, handlers: ProcessHandlers) {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('command: nothing to run');
    // the watchdog first: the command is never without one (see the header)
    const mark = randomBytes(8).toString('hex');
    this.watchdog = startWatchdog(mark);
    this.child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...options.env, RUNLOG_WATCHDOG: mark },
      detached: true,
      // a child in a group of its own must not read the terminal (it would be stopped): only pipes and files
      stdio: [process.stdin.isTTY ? 'ignore' : 'inherit', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) this.watchdog?.stdin?.end('\n');
    else this.watchdog?.stdin?.write(`${this.child.pid}\n`);
    if (this.child.stdout) readPaced(this.child.stdout, handlers.stdout);
    if (this.child.stderr) readPaced(this.child.stderr, handlers.stderr);
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      this.child.on('error', (error) => (spawnError = error));
      // 'close', not 'exit': every byte of both pipes has been read by then
      this.child.on('close', (code, signal) => {
        this.watchdog?.stdin?.end('\n'); // ended by itself: the watchdog goes without killing
        resolve({ code, signal, spawnError });
      });
    });
  }

  /** The command's pid, which is also its process group id (undefined when it could not start). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends `signal` to the child's whole process group. */
  kill(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

// Line 1 is the command's process group; then end-of-file (the runner died) kills that group, a
// newline (the command ended) does not. End-of-file before line 1 (the runner died while starting
// the command): the processes whose environment carries this command's mark go, with their groups.
const WATCHDOG = [
  'if ! read g; then',
  '  for f in $(grep -lzx "RUNLOG_WATCHDOG=$1" /proc/[0-9]*/environ 2>/dev/null); do',
  '    p=${f#/proc/}; p=${p%/environ}; kill -9 -"$p" "$p" 2>/dev/null',
  '  done',
  '  exit 0',
  'fi',
  '[ -z "$g" ] && exit 0',
  'read _ || kill -9 -"$g" 2>/dev/null',
].join('\n');

/** A watchdog waiting for the process group to guard, then for the runner's death (see the header). */
function startWatchdog(mark: string): ChildProcess | undefined {
  try {
    const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'runlog-watchdog', mark], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    watchdog.on('error', () => {}); // no /bin/sh: the command runs unwatched
    watchdog.stdin?.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return watchdog;
  } catch {
    return undefined;
  }
}

/** The shell's convention for an exit: the code, or 128 + the signal's number. */
export function exitStatus(exit: ProcessExit): number {
  if (exit.spawnError) return 127;
  if (exit.code !== null) return exit.code;
  const number = exit.signal ? constants.signals[exit.signal] : undefined;
  return 128 + (number ?? 0);
}
