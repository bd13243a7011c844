/**
 * RecordBuilder: the segments of one run's sources → LogRecords with their identity.
 *
 * One builder per stream (a run): it owns the seq counter, so seq is assigned once, where the line
 * was captured, across stdout, stderr and the runner's own lines. Each source gets its own
 * splitter, progress collapser and traceback grouper, since their bytes interleave.
 */
import { ErrorCause } from '../core/cause.js';
import { detectLevel } from '../core/level.js';
import { LineSplitter, SEGMENT_PROGRESS, DEFAULT_MAX_LINE_BYTES } from '../core/lines.js';
import { ProgressCollapser } from '../core/progress.js';
import { nowMicros, type Level, type LogRecord, type Phase, type ProgressUpdate, type Source } from '../core/record.js';
import { TracebackGrouper, type TracebackMark } from '../core/traceback.js';

export interface RecordSink {
  record(record: LogRecord): void;
  progress(update: ProgressUpdate): void;
}

export interface RecordBuilderOptions {
  stream: string;
  sink: RecordSink;
  taskId?: string;
  maxLineBytes?: number;
  /** the seq of the last record already captured for this stream (to continue a stream) */
  lastSeq?: number;
}

export class RecordBuilder {
  readonly cause = new ErrorCause();
  phase: Phase = 'run';
  private seq: number;
  /** capture time of the read being split: lines of one read share it */
  private readTime = 0;

  constructor(private readonly options: RecordBuilderOptions) {
    this.seq = options.lastSeq ?? 0;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /**
   * A byte source (a pipe, a file): returns what to feed its reads into. `attrs` go on each of its
   * records (a followed file's path).
   */
  source(source: Source, attrs?: Readonly<Record<string, unknown>>): { push(chunk: Buffer): void; end(): void } {
    const grouper = new TracebackGrouper();
    const collapser = new ProgressCollapser((text, truncated, wasProgress) =>
      this.emit(text, source, grouper, truncated, wasProgress, attrs),
    );
    const splitter = new LineSplitter((text, kind, truncated) => {
      if (kind !== SEGMENT_PROGRESS) return collapser.line(text, truncated);
      if (collapser.progress(text, truncated)) {
        this.options.sink.progress({
          stream: this.options.stream,
          timestamp: this.readTime,
          level: detectLevel(text) ?? 'INFO',
          message: text,
          source,
          phase: this.phase,
        });
      }
    }, this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    return {
      push: (chunk) => {
        this.readTime = nowMicros();
        splitter.push(chunk);
      },
      end: () => {
        this.readTime = nowMicros();
        splitter.end();
        collapser.end();
      },
    };
  }

  /** A line the runner itself says (setup step failed, signal forwarded, …). */
  system(message: string, level: Level = 'INFO'): LogRecord {
    return this.push({ stream: this.options.stream, seq: 0, timestamp: nowMicros(), level, message, source: 'system', phase: this.phase });
  }

  private emit(
    text: string,
    source: Source,
    grouper: TracebackGrouper,
    truncated: boolean,
    wasProgress: boolean,
    attrs: Readonly<Record<string, unknown>> | undefined,
  ): void {
    const seq = this.seq + 1;
    const mark = grouper.mark(text, seq);
    const explicit = detectLevel(text);
    let level: Level = explicit ?? 'INFO';
    // a traceback is one ERROR block; an explicit CRITICAL inside it still wins
    if (mark !== undefined && level !== 'CRITICAL') level = 'ERROR';
    const record: LogRecord = {
      stream: this.options.stream,
      seq,
      timestamp: this.readTime,
      level,
      message: text,
      source,
      // every field in the literal: a property added later costs the record an extra array (bench/memory.js: −32 B)
      phase: this.phase,
    };
    if (mark !== undefined || truncated || wasProgress || attrs !== undefined) {
      record.attrs = attrs === undefined ? {} : { ...attrs };
      if (mark !== undefined) record.attrs.group = mark.group;
      if (truncated) record.attrs.truncated = true;
      if (wasProgress) record.attrs.progress = true;
    }
    this.push(record, mark);
  }

  private push(record: LogRecord, mark?: TracebackMark): LogRecord {
    record.seq = ++this.seq;
    if (this.options.taskId !== undefined) record.task_id = this.options.taskId;
    this.cause.observe(record, mark);
    this.options.sink.record(record);
    return record;
  }
}
