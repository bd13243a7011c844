/**
 * runTool: runs a small external tool (nvidia-smi, docker) the way a probe needs it: no shell,
 * bounded time, bounded output, and an answer in every case (it never rejects).
 *
 * The tool runs in its own process group, and a timeout or an abort kills the whole group and
 * answers at once, without waiting for 'close': a killed tool whose child still holds the pipe
 * (a shell script's `sleep`) would otherwise keep the caller waiting as long as the child lives.
 */
import { spawn } from 'node:child_process';
import { clip } from '../core/cause.js';

export interface ToolOptions {
  timeoutMs: number;
  /** aborting kills the tool (a probe that hit its own deadline) */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** output kept per stream; the rest is dropped */
  maxBytes?: number;
}

export interface ToolResult {
  /** true when the tool ran and exited with 0 */
  ok: boolean;
  /** how it ended: `exit` (see code), or why there is no exit code */
  outcome: 'exit' | 'missing' | 'timeout' | 'aborted' | 'error';
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** one line that says what went wrong, for a note; undefined when ok */
  problem?: string;
}

const MAX_BYTES = 1024 * 1024; // 1 MiB per stream: a probe reads a little, never a flood
const PROBLEM_CHARS = 300;

export function runTool(command: string, args: readonly string[], options: ToolOptions): Promise<ToolResult> {
  const name = command.split(/[\\/]/).pop() ?? command;
  const maxBytes = options.maxBytes ?? MAX_BYTES;
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let settled = false;
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    const finish = (result: Omit<ToolResult, 'stdout' | 'stderr'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, stdout: text(out), stderr: text(err) });
    };

    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: options.env ?? process.env,
        // its own process group, so that a kill reaches what it started too (not on Windows,
        // where detached opens a console window)
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
    } catch (error) {
      // spawn throws synchronously on bad arguments (a NUL byte in the command, for example)
      resolve({ ok: false, outcome: 'error', code: null, signal: null, stdout: '', stderr: '', problem: `${name}: ${messageOf(error)}` });
      return;
    }

    const kill = () => {
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        child.kill('SIGKILL'); // the group is already gone; make sure the tool is too
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
    };
    const onAbort = () => {
      kill();
      finish({ ok: false, outcome: 'aborted', code: null, signal: null, problem: `${name} was stopped` });
    };
    const timer = setTimeout(() => {
      kill();
      finish({ ok: false, outcome: 'timeout', code: null, signal: null, problem: `${name} timed out after ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.on('data', (chunk: Buffer) => {
      if (outBytes < maxBytes) out.push(chunk.subarray(0, maxBytes - outBytes));
      outBytes += chunk.length;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (errBytes < maxBytes) err.push(chunk.subarray(0, maxBytes - errBytes));
      errBytes += chunk.length;
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') finish({ ok: false, outcome: 'missing', code: null, signal: null, problem: `${name} not found` });
      else finish({ ok: false, outcome: 'error', code: null, signal: null, problem: `${name}: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      if (code === 0) return finish({ ok: true, outcome: 'exit', code, signal: null });
      // tools print their reason on stderr (docker) or stdout (nvidia-smi): take the first line
      const said = firstLine(text(err)) || firstLine(text(out));
      const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      finish({ ok: false, outcome: 'exit', code, signal, problem: clip(said ? `${name} ${how}: ${said}` : `${name} ${how}`, PROBLEM_CHARS) });
    });
  });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split(/\r?\n/).find((line) => line.trim() !== '')?.trim() ?? '';
}
