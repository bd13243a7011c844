/**
 * ErrorCause: the `error_message` of a failed run, picked from its output. The final exception
 * line of the last Python traceback wins (`torch.cuda.OutOfMemoryError: CUDA out of memory…`);
 * otherwise the last stderr lines. At most 1000 characters.
 */
import { stripVTControlCharacters } from 'node:util';
import type { LogRecord } from './record.js';

export const MAX_ERROR_MESSAGE = 1000;
const STDERR_LINES_KEPT = 5;

export class ErrorCause {
  private exceptionLine: string | undefined;
  private stderrTail: string[] = [];

  /** `final` is true for the final line of a traceback. */
  observe(record: LogRecord, final: boolean): void {
    // an exception group's final line sits inside its box: `  | ExceptionGroup: …`
    if (final) this.exceptionLine = record.message.replace(/^[\s|+]+/, '');
    if (record.source === 'stderr' && record.message.trim() !== '') {
      this.stderrTail.push(record.message);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
    }
  }

  message(): string | undefined {
    const picked = this.exceptionLine ?? (this.stderrTail.length > 0 ? this.stderrTail.join('\n') : undefined);
    if (picked === undefined) return undefined;
    return clip(stripVTControlCharacters(picked).trim(), MAX_ERROR_MESSAGE);
  }
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
