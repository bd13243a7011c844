/**
 * captureConsole: console.log/info/warn/error/debug go through a logger, so a program's plain
 * prints get a level, a timestamp, the task id, and reach the buffer and the hub like its logs.
 *
 * Recursion: the logger writes its lines to its stream directly (process.stderr), never through
 * console.*, so capture does not feed itself. A sink that does call console.* while a captured
 * call is running reaches the original method instead of looping.
 */
import { format } from 'node:util';
import type { Level } from '../core/record.js';
import { skipFramesIn } from './callsite.js';
import type { Logger } from './logger.js';

export type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug';

/** Which logger level each console method writes at. */
export const CONSOLE_LEVELS: Readonly<Record<ConsoleMethod, Level>> = {
  log: 'INFO',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  debug: 'DEBUG',
};

export interface CaptureConsoleOptions {
  /** the methods to capture; default all five */
  methods?: readonly ConsoleMethod[];
}

// the debug format's file:line names the code that called console.log, not this wrapper
skipFramesIn(import.meta.url);

const METHOD_OF_LEVEL = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warning',
  ERROR: 'error',
  CRITICAL: 'critical',
} as const satisfies Record<Level, keyof Logger>;

let inside = false; // a captured call is running: see the recursion note above

/** Routes console.* into `logger`; returns the function that puts the original methods back. */
export function captureConsole(logger: Logger, options: CaptureConsoleOptions = {}): () => void {
  const target = console;
  const methods = options.methods ?? (Object.keys(CONSOLE_LEVELS) as ConsoleMethod[]);
  const originals = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const method of methods) {
    const original = target[method];
    const level = METHOD_OF_LEVEL[CONSOLE_LEVELS[method]];
    originals.set(method, original);
    target[method] = function captured(...args: unknown[]): void {
      if (inside) return original.apply(target, args);
      inside = true;
      try {
        // read at each call: the logger's level may have changed, rebinding its methods
        logger[level](format(...args));
      } catch {
        // format() can throw (a throwing inspect hook): a console call never does
      } finally {
        inside = false;
      }
    };
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    for (const [method, original] of originals) target[method] = original;
  };
}
