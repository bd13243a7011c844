/**
 * createLogger: the SDK's namespaced logger (`runlog.worker.heartbeat`), writing the seeds' line
 * formats to the console and LogRecords to a sink (a LogBuffer that the shipper empties).
 *
 * The hot path is built the way pino builds its own: everything that does not change per call
 * (the level column, the logger name, which destinations exist) is decided when the logger is
 * made or its level changes, so a call does one timestamp, one record, one string, two hand-offs.
 * A disabled level is the shared no-op function: calling it costs a call and nothing else.
 * A call never throws and never waits: a sink that throws or a console stream that broke is
 * counted in `drops`, with its reason, and the program goes on.
 */
import { fitJsonObject, surelyFits } from '../core/json-bounds.js';
import { LEVEL_RANK, isLevel, isValidId, nowMicros, type Level, type LogRecord, type RecordAttrs } from '../core/record.js';
import { callsite } from './callsite.js';
import { currentTaskId } from './context.js';
import { LEVEL_FIELD, formatTimestamp } from './format.js';
import { consoleOut, writeLine, type ConsoleOut } from './console-out.js';

export type LogMethod = (message: string, attrs?: Record<string, unknown>) => void;
export type LogSink = (record: LogRecord) => void;

export interface LoggerOptions {
  /** lowest level written; default DEBUG in debug mode, else INFO */
  level?: Level;
  /** the debug format (name and file:line on every line) and level; default: env RUNLOG_DEBUG is 1 or true */
  debug?: boolean;
  /** where lines are written: a stream, true for process.stderr (the default), false for nowhere */
  console?: boolean | NodeJS.WritableStream;
  /** receives every record, e.g. a LogBuffer's `add` */
  sink?: LogSink;
  /** the records' stream; default `sdk:<name>`. Shared by the logger's children. */
  stream?: string;
  /**
   * seq of the first record; default 1. A process that restarts and keeps its stream (a worker's
   * `worker:<id>`) must start after the last seq the hub has, or the hub takes its lines for
   * duplicates and ignores them.
   */
  firstSeq?: number;
}

export interface LogDrops {
  /** the sink threw */
  sink: number;
  /** the console stream had broken, was closed, or threw */
  console: number;
  /** the message or attrs could not be read (a throwing toString or getter) */
  input: number;
}

export interface Logger {
  readonly name: string;
  readonly stream: string;
  /** the lowest level written; setting it rebinds the methods (a disabled level becomes a no-op) */
  level: Level;
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warning: LogMethod;
  /** alias of `warning` */
  readonly warn: LogMethod;
  readonly error: LogMethod;
  readonly critical: LogMethod;
  isEnabled(level: Level): boolean;
  /** A logger named `<name>.<suffix>` with the same stream, seq counter, sink, console and level. */
  child(suffix: string): Logger;
  /** lines that missed a destination, all reasons together (shared with the children) */
  readonly dropped: number;
  readonly drops: Readonly<LogDrops>;
}

export const DEBUG_ENV = 'RUNLOG_DEBUG';

export function createLogger(name = 'runlog', options: LoggerOptions = {}): Logger {
  const debugFormat = options.debug ?? /^(1|true)$/i.test(process.env[DEBUG_ENV] ?? '');
  const stream = options.stream ?? `sdk:${name}`;
  if (!isValidId(stream)) throw new Error(`createLogger: stream "${stream}" is not a valid id (letters, digits, . _ : -)`);
  const firstSeq = options.firstSeq ?? 1;
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) throw new Error(`createLogger: firstSeq must be a positive integer, got ${firstSeq}`);
  const family: Family = {
    stream,
    seq: firstSeq - 1,
    sink: options.sink,
    out: consoleOut(options.console === false ? undefined : options.console === true || options.console === undefined ? process.stderr : options.console),
    debugFormat,
    drops: { sink: 0, console: 0, input: 0 },
  };
  return new RunlogLogger(name, options.level ?? (debugFormat ? 'DEBUG' : 'INFO'), family);
}

/** What a root logger shares with its children. */
interface Family {
  readonly stream: string;
  /** the last seq given: one counter per stream, so (stream, seq) stays unique across children */
  seq: number;
  readonly sink: LogSink | undefined;
  readonly out: ConsoleOut | undefined;
  readonly debugFormat: boolean;
  readonly drops: LogDrops;
}

class RunlogLogger implements Logger {
  debug: LogMethod = noop;
  info: LogMethod = noop;
  warning: LogMethod = noop;
  warn: LogMethod = noop;
  error: LogMethod = noop;
  critical: LogMethod = noop;
  private current: Level;

  constructor(
    readonly name: string,
    level: Level,
    private readonly family: Family,
  ) {
    this.current = checkLevel(level);
    this.bind();
  }

  get stream(): string {
    return this.family.stream;
  }

  get level(): Level {
    return this.current;
  }

  set level(level: Level) {
    this.current = checkLevel(level);
    this.bind();
  }

  isEnabled(level: Level): boolean {
    return LEVEL_RANK[level] >= LEVEL_RANK[this.current];
  }

  child(suffix: string): Logger {
    return new RunlogLogger(`${this.name}.${suffix}`, this.current, this.family);
  }

  get dropped(): number {
    const drops = this.family.drops;
    return drops.sink + drops.console + drops.input;
  }

  get drops(): Readonly<LogDrops> {
    return { ...this.family.drops };
  }

  private bind(): void {
    this.debug = this.method('DEBUG');
    this.info = this.method('INFO');
    this.warning = this.warn = this.method('WARNING');
    this.error = this.method('ERROR');
    this.critical = this.method('CRITICAL');
  }

  /** The function a call to `level` runs: the no-op when disabled, else a closure over all it needs. */
  private method(level: Level): LogMethod {
    if (!this.isEnabled(level)) return noop;
    const family = this.family;
    const { stream, sink, out, debugFormat, drops } = family;
    const name = this.name;
    // built once: ` | INFO     | ` (production) or ` | INFO     | runlog.worker | ` (debug)
    const field = debugFormat ? `${LEVEL_FIELD[level]}${name} | ` : LEVEL_FIELD[level];
    const log: LogMethod = (message, attrs) => {
      try {
        const text = typeof message === 'string' ? message : String(message);
        const timestamp = nowMicros();
        const seq = ++family.seq;
        if (out !== undefined) {
          const where = debugFormat ? `${callsite(log)} | ` : '';
          const trailer = attrs === undefined ? '' : errorStacks(attrs);
          writeLine(out, `${formatTimestamp(timestamp)}${field}${where}${text}${trailer}\n`, drops);
        }
        if (sink === undefined) return;
        const record: LogRecord = {
          stream,
          seq,
          timestamp,
          level,
          message: text,
          source: 'sdk',
          logger: name,
          task_id: currentTaskId(),
          attrs: attrs === undefined ? undefined : copyAttrs(attrs),
        };
        try {
          sink(record);
        } catch {
          drops.sink++;
        }
      } catch {
        drops.input++;
      }
    };
    return log;
  }
}

function noop(): void {}

function checkLevel(level: Level): Level {
  if (!isLevel(level)) throw new Error(`logger level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got ${String(level)}`);
  return level;
}

/**
 * A copy (the caller may reuse its object before the buffer is shipped), Errors made plain data,
 * fitted to the hub's bounds (depth 8, 16 KiB): attrs past them would get the whole batch refused.
 */
function copyAttrs(attrs: Record<string, unknown>): RecordAttrs {
  const copy: RecordAttrs = {};
  for (const key of Object.keys(attrs)) {
    const value = attrs[key];
    copy[key] = value instanceof Error ? serializeError(value) : value;
  }
  return surelyFits(copy) ? copy : fitJsonObject(copy);
}

/** An Error as JSON can carry it: JSON.stringify of an Error is `{}`. */
export function serializeError(error: Error): { name: string; message: string; stack?: string; code?: unknown } {
  const plain: { name: string; message: string; stack?: string; code?: unknown } = { name: error.name, message: error.message };
  if (error.stack !== undefined) plain.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) plain.code = code;
  return plain;
}

/** The stacks of the Errors among attrs, each on the lines after the message, as Python prints exc_info. */
function errorStacks(attrs: Record<string, unknown>): string {
  let text = '';
  for (const key of Object.keys(attrs)) {
    const value = attrs[key];
    if (value instanceof Error) text += `\n${value.stack ?? `${value.name}: ${value.message}`}`;
  }
  return text;
}
