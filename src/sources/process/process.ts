/**
 * A child process as a byte source: its stdout and stderr reads, as they come, and how it ended.
 *
 * The child gets a process group of its own, so a signal the runner passes on reaches the whole
 * tree (a shell's children, a setup step's pip) once, and a terminal's Ctrl-C reaches the runner
 * alone, which passes it on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

export class CapturedProcess {
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;

  constructor(argv: readonly string[], options: SpawnOptions, handlers: ProcessHandlers) {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('command: nothing to run');
    this.child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      // a child in a group of its own must not read the terminal (it would be stopped): only pipes and files
      stdio: [process.stdin.isTTY ? 'ignore' : 'inherit', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', handlers.stdout);
    this.child.stderr?.on('data', handlers.stderr);
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      this.child.on('error', (error) => (spawnError = error));
      // 'close', not 'exit': every byte of both pipes has been read by then
      this.child.on('close', (code, signal) => resolve({ code, signal, spawnError }));
    });
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

/** The shell's convention for an exit: the code, or 128 + the signal's number. */
export function exitStatus(exit: ProcessExit): number {
  if (exit.spawnError) return 127;
  if (exit.code !== null) return exit.code;
  const number = exit.signal ? constants.signals[exit.signal] : undefined;
  return 128 + (number ?? 0);
}
