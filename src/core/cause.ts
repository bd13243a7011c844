/**
 * ErrorCause: the `error_message` of a failed run, picked from its output. The final exception
 * line of the last Python traceback wins (`torch.cuda.OutOfMemoryError: CUDA out of memory…`);
 * otherwise the last stderr lines. At most 1000 characters.
 *
 * A launcher's own exception is not the cause when a process it ran failed first: torchrun ends
 * with `ChildFailedError` (its message is a box on the following lines), `accelerate launch` and
 * other wrappers with `subprocess.CalledProcessError`. Then the first exception printed shortly
 * before it (the "first observed failure", as torchrun calls it) is the cause, with the launcher's
 * prefix of the process that printed it (`KeyError: 'lr' (in [rank1])`). A ChildFailedError with
 * no such exception (a rank killed by the OOM killer prints none) is said with its box's root
 * cause: the script, the rank and its exit code.
 */
import { constants } from 'node:os';
import { stripVTControlCharacters } from 'node:util';
import type { LogRecord } from './record.js';
import type { TracebackMark } from './traceback.js';

export const MAX_ERROR_MESSAGE = 1000;
const STDERR_LINES_KEPT = 5;
/** How far before a launcher's exception (in lines) a process's exception still counts as its cause. */
const ROOT_CAUSE_WINDOW = 1000;
/** Exceptions of processes kept as candidates within that window. */
const CANDIDATES_KEPT = 32;
/** A launcher's exception: what it says is that a process it ran failed. */
const LAUNCHER_EXCEPTION = /^(?:torch\.distributed\.elastic\.multiprocessing\.errors\.)?ChildFailedError\b|^subprocess\.CalledProcessError\b/;
/** Lines after a bare `ChildFailedError:` read for its box (`train.py FAILED`, the root cause's rank and exit code). */
const BOX_LINES = 60;

interface Exception {
  seq: number;
  text: string;
}

export class ErrorCause {
  private exception: Exception | undefined;
  /** the first exceptions of processes in the last ROOT_CAUSE_WINDOW lines, oldest first */
  private candidates: Exception[] = [];
  /** the exception the launcher's one stands for, picked when the launcher's was seen */
  private rootCause: string | undefined;
  private box: ChildFailedBox | undefined;
  private stderrTail: string[] = [];

  /** `mark` is the line's traceback mark: its final line is an exception line. */
  observe(record: LogRecord, mark: Pick<TracebackMark, 'final' | 'prefix'> | undefined): void {
    this.box?.line(record.message);
    if (mark?.final === true) this.exceptionLine(record.seq, exceptionText(record.message, mark.prefix), mark.prefix);
    if (record.source === 'stderr' && record.message.trim() !== '') {
      this.stderrTail.push(record.message);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
    }
  }

  message(): string | undefined {
    const picked = this.rootCause ?? this.box?.summary() ?? this.exception?.text ?? (this.stderrTail.length > 0 ? this.stderrTail.join('\n') : undefined);
    if (picked === undefined) return undefined;
    return clip(stripVTControlCharacters(picked).trim(), MAX_ERROR_MESSAGE);
  }

  private exceptionLine(seq: number, text: string, prefix: string | undefined): void {
    this.exception = { seq, text };
    if (!LAUNCHER_EXCEPTION.test(text)) {
      this.rootCause = undefined;
      this.box = undefined;
      this.candidates = this.candidates.filter((c) => c.seq > seq - ROOT_CAUSE_WINDOW);
      if (this.candidates.length < CANDIDATES_KEPT) this.candidates.push({ seq, text: prefix === undefined ? text : `${text} (in ${prefix.replace(/:$/, '')})` });
      return;
    }
    const first = this.candidates.find((c) => c.seq > seq - ROOT_CAUSE_WINDOW);
    this.rootCause = first?.text;
    this.candidates = [];
    // `ChildFailedError:` says nothing on its line: its box follows
    this.box = first === undefined && /ChildFailedError:?$/.test(text) ? new ChildFailedBox(text) : undefined;
  }
}

/** The exception line as the program printed it: without the launcher's prefix, or an exception group box's `  | `. */
function exceptionText(message: string, prefix: string | undefined): string {
  const line = stripVTControlCharacters(message);
  const rest = prefix !== undefined && line.startsWith(prefix) ? line.slice(prefix.length) : line;
  return rest.replace(/^[\s|+]+/, '').trimEnd();
}

/**
 * The box torchrun prints after `ChildFailedError:`:
 *   train.py FAILED
 *   …
 *   Root Cause (first observed failure):
 *   [0]:
 *     rank      : 1 (local_rank: 1)
 *     exitcode  : -9 (pid: 2630)
 */
class ChildFailedBox {
  private left = BOX_LINES;
  private script: string | undefined;
  private inRootCause = false;
  private rank: string | undefined;
  private exitCode: string | undefined;

  constructor(private readonly exception: string) {}

  line(text: string): void {
    if (this.left <= 0) return;
    this.left--;
    const line = stripVTControlCharacters(text).trim();
    const failed = /^(\S.*) FAILED$/.exec(line);
    if (failed !== null && this.script === undefined) this.script = failed[1];
    else if (line.startsWith('Root Cause')) this.inRootCause = true;
    else if (this.inRootCause) {
      const field = /^(rank|exitcode)\s*:\s*(.+)$/.exec(line);
      if (field?.[1] === 'rank') this.rank ??= field[2];
      if (field?.[1] === 'exitcode') this.exitCode ??= field[2];
      if (/^=+$/.test(line)) this.left = 0;
    }
  }

  summary(): string | undefined {
    if (this.script === undefined && this.rank === undefined) return undefined;
    const parts = [this.script !== undefined ? `${this.script} failed` : 'a process failed'];
    if (this.rank !== undefined) parts.push(`rank ${this.rank}`);
    if (this.exitCode !== undefined) parts.push(`exit code ${withSignal(this.exitCode)}`);
    return `${this.exception.replace(/:$/, '')}: ${parts.join(', ')}`;
  }
}

/** `-9 (pid: 2630)` → `-9 (SIGKILL) (pid: 2630)`: torchrun gives a signal as a negative code. */
function withSignal(exitCode: string): string {
  const code = /^-(\d+)\b/.exec(exitCode);
  if (code === null) return exitCode;
  const name = Object.entries(constants.signals).find(([, number]) => number === Number(code[1]))?.[0];
  return name === undefined ? exitCode : exitCode.replace(/^-\d+/, `$& (${name})`);
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
