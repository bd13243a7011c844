/**
 * ErrorCause: the `error_message` of a failed run, picked from its output. The final exception
 * line of the last Python traceback wins (`torch.cuda.OutOfMemoryError: CUDA out of memory…`);
 * otherwise the last stderr lines. At most 1000 characters.
 *
 * A launcher's own exception is not the cause when a process it ran failed first: torchrun ends
 * with `ChildFailedError` (its message is a box on the following lines), `accelerate launch` and
 * other wrappers with `subprocess.CalledProcessError`. Each process's last exception is kept (its
 * launcher prefix names the process, `[rank1]:`; unprefixed lines are one process), so that of a
 * chain (`raise … from …`) the outermost one counts, and one the program handled and went on from
 * is replaced by the one that stopped it. At the launcher's exception (unprefixed: a rank's own
 * CalledProcessError is a rank's exception), the cause is:
 * - ChildFailedError: the earliest of the processes' last exceptions in the lines just before (the
 *   "first observed failure", as torchrun calls it), with the process's prefix
 *   (`KeyError: 'lr' (in [rank1])`); when there is none (a rank killed by the OOM killer prints
 *   nothing), or when the box's root cause was killed by a signal (an exception it printed
 *   earlier did not end it), the root cause in torchrun's box: the script, the rank, its exit code;
 * - CalledProcessError: the child's exception when its traceback came right before (no other
 *   output between) and is not the wrapper's own chain; else the CalledProcessError line.
 */
import { constants } from 'node:os';
import { stripVTControlCharacters } from 'node:util';
import type { LogRecord } from './record.js';
import type { TracebackMark } from './traceback.js';

export const MAX_ERROR_MESSAGE = 1000;
const STDERR_LINES_KEPT = 5;
/** How far before a launcher's exception (in lines) a process's exception still counts as its cause. */
const ROOT_CAUSE_WINDOW = 1000;
/** Processes whose last exception is kept (a launcher of more: the longest quiet go first). */
const PROCESSES_KEPT = 256;
/** A launcher's exception: what it says is that a process it ran failed. */
const LAUNCHER_EXCEPTION = /^(?:torch\.distributed\.elastic\.multiprocessing\.errors\.)?ChildFailedError\b|^subprocess\.CalledProcessError\b/;
/** Lines after a bare `ChildFailedError:` read for its box (`train.py FAILED`, the root cause's rank and exit code). */
const BOX_LINES = 60;

interface Exception {
  seq: number;
  /** the traceback block it ended: a chain is one block */
  group: number;
  text: string;
}

export class ErrorCause {
  private exception: Exception | undefined;
  /** each process's last exception, by launcher prefix ('' for unprefixed lines) */
  private readonly lastByProcess = new Map<string, Exception>();
  /** seq of the last line with text outside any traceback */
  private lastOutputSeq = 0;
  /** the exception the launcher's one stands for, picked when the launcher's was seen */
  private rootCause: string | undefined;
  private box: ChildFailedBox | undefined;
  private stderrTail: string[] = [];

  /** `mark` is the line's traceback mark: its final line is an exception line. */
  observe(record: LogRecord, mark: Pick<TracebackMark, 'group' | 'final' | 'prefix'> | undefined): void {
    this.box?.line(record.message);
    if (mark === undefined && record.message.trim() !== '') this.lastOutputSeq = record.seq;
    if (mark?.final === true) this.exceptionLine({ seq: record.seq, group: mark.group, text: exceptionText(record.message, mark.prefix) }, mark.prefix);
    if (record.source === 'stderr' && record.message.trim() !== '') {
      this.stderrTail.push(record.message);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
    }
  }

  message(): string | undefined {
    // a rank killed by a signal raised nothing: an exception it printed before is not what ended it
    const root = this.box?.killedBySignal === true ? this.box.summary() : (this.rootCause ?? this.box?.summary());
    const picked = root ?? this.exception?.text ?? (this.stderrTail.length > 0 ? this.stderrTail.join('\n') : undefined);
    if (picked === undefined) return undefined;
    return clip(stripVTControlCharacters(picked).trim(), MAX_ERROR_MESSAGE);
  }

  private exceptionLine(exception: Exception, prefix: string | undefined): void {
    this.exception = exception;
    if (prefix !== undefined || !LAUNCHER_EXCEPTION.test(exception.text)) {
      this.rootCause = undefined;
      this.box = undefined;
      const key = prefix ?? '';
      this.lastByProcess.delete(key); // re-set: the map's order is then the processes' last failures
      this.lastByProcess.set(key, prefix === undefined ? exception : { ...exception, text: `${exception.text} (in ${prefix.replace(/:$/, '')})` });
      if (this.lastByProcess.size > PROCESSES_KEPT) this.lastByProcess.delete(this.lastByProcess.keys().next().value as string);
      return;
    }
    const childFailed = exception.text.includes('ChildFailedError');
    // the map is in the order of the processes' last failures: the first that qualifies failed first
    const first = [...this.lastByProcess.values()].find(
      (candidate) =>
        candidate.group !== exception.group &&
        candidate.seq > exception.seq - ROOT_CAUSE_WINDOW &&
        // a CalledProcessError stands for the traceback printed right before it, not an older one
        (childFailed || candidate.seq >= this.lastOutputSeq),
    );
    this.rootCause = first?.text;
    this.lastByProcess.clear();
    // `ChildFailedError:` says nothing on its line: its box follows
    this.box = /ChildFailedError:?$/.test(exception.text) ? new ChildFailedBox(exception.text) : undefined;
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

  /** torchrun gives a signal as a negative exit code (`-9`: SIGKILL, the OOM killer) */
  get killedBySignal(): boolean {
    return this.exitCode !== undefined && /^-\d/.test(this.exitCode);
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
