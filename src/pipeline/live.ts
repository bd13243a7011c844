/**
 * LiveFanout: committed records → the live subscribers of their stream.
 *
 * Publish after commit: the hub calls it only with what the store has committed, so a live
 * viewer never sees a line that could still be lost. Each event's SSE frame is built once, however
 * many subscribers there are. Delivery never waits on a subscriber: a slow one bounds its own
 * queue (see the SSE route).
 *
 * A stream with many subscribers gets its lines a little later, gathered (fanoutHoldMs): each
 * delivery is a socket write per subscriber (~10 µs of the hub's CPU, most of it the kernel's), so
 * at 1,000 lines/s, 200 viewers of batches every 8 ms cost 25,000 writes a second and the hub's
 * whole core; held 20 ms, 10,000. With a few subscribers lines go at once. A progress update or a
 * run's end releases what is held first, so a stream's events keep their order.
 */
import { logFrames, recordJson, sseFrame } from '../core/sse.js';
import { microsToIso, type Level, type LogRecord, type ProgressUpdate } from '../core/record.js';
import { BatchClock } from './batch-clock.js';
import type { Run, SystemLog, Worker } from '../store/store.js';

/** What a topic's subscribers get: a commit's lines of a run, or one ready frame (progress, end, …). */
export type LiveEvent =
  | { type: 'records'; batch: RecordBatch }
  | { type: 'progress' | 'end' | 'run' | 'run_deleted' | 'worker'; frame: string; level?: Level }
  /**
   * a worker line; `seq` on one worker's topic, whose frames carry it as their id (a resume point);
   * its `level` for the streams asked for a level and above, and the `line` itself for those
   * asked for a task or a text (`/api/logs/stream?task_id=&q=`)
   */
  | { type: 'log'; frame: string; seq?: number; level?: Level; line?: SystemLog };

/**
 * The lines one commit added to a run, turned into SSE text once for every subscriber, in the form
 * each asked for: `log` frames, or each record's JSON for the `logs` events a subscriber makes.
 */
export class RecordBatch {
  private frames: Buffer | undefined;
  private jsonText: string[] | undefined;

  constructor(readonly records: readonly LogRecord[]) {}

  get lastSeq(): number {
    return this.records[this.records.length - 1]?.seq ?? 0;
  }

  /**
   * A `log` frame per record past `lastSent`: the text shared by every subscriber (made and encoded
   * once), unless the subscriber has some of them already.
   */
  framesAfter(lastSent: number): Buffer | string {
    if (lastSent < this.firstSeq) return (this.frames ??= Buffer.from(logFrames(this.records)));
    return logFrames(this.records.filter((record) => record.seq > lastSent));
  }

  /** Each record's JSON, in step with `records`. */
  get json(): readonly string[] {
    return (this.jsonText ??= this.records.map(recordJson));
  }

  private get firstSeq(): number {
    return this.records[0]?.seq ?? 0;
  }
}

export type LiveListener = (event: LiveEvent) => void;

/** per subscriber of a stream, how long its lines may be held for the next ones (see the header) */
const HOLD_MS_PER_SUBSCRIBER = 0.1;
const MAX_HOLD_MS = 20;

/** How long a stream's lines wait to be delivered together, for `subscribers` subscribers: 0 (at once) under 10. */
export function fanoutHoldMs(subscribers: number): number {
  const hold = Math.min(MAX_HOLD_MS, subscribers * HOLD_MS_PER_SUBSCRIBER);
  return hold < 1 ? 0 : Math.round(hold);
}

/** A stream's lines waiting for its hold to end. */
interface Held {
  records: LogRecord[];
  timer: NodeJS.Timeout;
}

/** worker lines remembered to send each once (see publishSystemLines): ~100 bytes each */
const RECENT_SYSTEM_LINES = 50_000;

/** Topics that are not a stream: `#` never starts an id, so they cannot collide with a run. */
export const RUN_EVENTS = '#events';
export const SYSTEM_LINES = '#system';

/** The lines of one worker, in the system_logs shape. */
export function systemLinesOf(workerId: string): string {
  return `${SYSTEM_LINES}:${workerId}`;
}

/** A subscriber's position in its stream: the last seq it has, or undefined while it reads its backlog. */
export type Position = () => number | undefined;

export class LiveFanout {
  private readonly topics = new Map<string, Set<LiveListener>>();
  /** the positions of the subscribers that gave one (the SSE streams), by topic */
  private readonly positions = new Map<string, Map<LiveListener, Position>>();
  /** the last seq published per subscribed stream: lines the hub wrote itself need no re-reading */
  private readonly lastPublished = new Map<string, number>();
  /** the worker lines last sent to the system-line topics, oldest first (see publishSystemLines) */
  private readonly recentSystemLines = new Set<string>();
  /** lines of streams with many subscribers, until their hold ends */
  private readonly held = new Map<string, Held>();
  /** per stream, the release clock of its batched subscribers (batch-clock.ts) */
  private readonly clocks = new Map<string, BatchClock>();
  /** told of every run published, with the run (the change watcher keeps its picture with it) */
  onRunPublished: ((run: Run) => void) | undefined;

  subscribe(stream: string, listener: LiveListener, position?: Position): () => void {
    let listeners = this.topics.get(stream);
    if (!listeners) this.topics.set(stream, (listeners = new Set()));
    listeners.add(listener);
    if (position !== undefined) {
      let positions = this.positions.get(stream);
      if (!positions) this.positions.set(stream, (positions = new Map()));
      positions.set(listener, position);
    }
    return () => {
      listeners.delete(listener);
      const positions = this.positions.get(stream);
      positions?.delete(listener);
      if (positions?.size === 0) this.positions.delete(stream);
      if (listeners.size === 0 && this.topics.get(stream) === listeners) {
        this.topics.delete(stream);
        this.lastPublished.delete(stream);
        this.release(stream);
        this.clocks.get(stream)?.stop();
        this.clocks.delete(stream);
      }
    };
  }

  /** The clock a stream's batched subscribers hold their lines by (made with the stream's first subscriber's `holdMs`). */
  batchClock(stream: string, holdMs: number): BatchClock {
    let clock = this.clocks.get(stream);
    if (clock === undefined) this.clocks.set(stream, (clock = new BatchClock(holdMs)));
    return clock;
  }

  /**
   * The streams whose subscribers told their position, with the seq to read new lines after:
   * the last published, else the lowest position of a subscriber past its backlog. A stream whose
   * subscribers are all still reading their backlog is left out (the backlog covers it).
   */
  followedStreams(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [stream, positions] of this.positions) {
      let low: number | undefined;
      for (const position of positions.values()) {
        const seq = position();
        if (seq !== undefined && (low === undefined || seq < low)) low = seq;
      }
      const published = this.lastPublished.get(stream);
      if (published !== undefined || low !== undefined) out.set(stream, Math.max(published ?? 0, low ?? 0));
    }
    return out;
  }

  /** Every stream (run or worker, not a `#` topic) with a subscriber, with a position or not. */
  watchedStreams(): string[] {
    return [...this.topics.keys()].filter((topic) => !topic.startsWith('#'));
  }

  subscriberCount(stream?: string): number {
    if (stream !== undefined) return this.topics.get(stream)?.size ?? 0;
    let total = 0;
    for (const listeners of this.topics.values()) total += listeners.size;
    return total;
  }

  publishRecords(stream: string, records: readonly LogRecord[]): void {
    const listeners = this.topics.get(stream);
    if (!listeners || records.length === 0) return;
    const lastSeq = records[records.length - 1]!.seq;
    if (lastSeq > (this.lastPublished.get(stream) ?? 0)) this.lastPublished.set(stream, lastSeq);
    const held = this.held.get(stream);
    if (held !== undefined) {
      for (const record of records) held.records.push(record);
      return;
    }
    const holdMs = fanoutHoldMs(listeners.size);
    if (holdMs === 0) this.deliver([...listeners], { type: 'records', batch: new RecordBatch(records) });
    else this.held.set(stream, { records: [...records], timer: setTimeout(() => this.release(stream), holdMs) });
  }

  /** Delivers a stream's held lines now (its hold ended, or an event that must come after them is published). */
  release(stream: string): void {
    const held = this.held.get(stream);
    if (held === undefined) return;
    clearTimeout(held.timer);
    this.held.delete(stream);
    const listeners = this.topics.get(stream);
    if (listeners) this.deliver([...listeners], { type: 'records', batch: new RecordBatch(held.records) });
  }

  publishProgress(stream: string, updates: readonly ProgressUpdate[]): void {
    if (updates.length === 0) return;
    this.release(stream);
    const listeners = this.topics.get(stream);
    if (!listeners) return;
    const targets = [...listeners];
    for (const update of updates) {
      const data = { ...update, timestamp: microsToIso(update.timestamp) };
      this.deliver(targets, { type: 'progress', frame: sseFrame('progress', data), level: update.level });
    }
  }

  publishEnd(run: Run): void {
    this.release(run.id);
    const listeners = this.topics.get(run.id);
    if (!listeners) return;
    this.deliver([...listeners], { type: 'end', frame: sseFrame('end', run) });
  }

  /** A run was created, claimed, handed back or ended: for the runs page. */
  publishRun(run: Run): void {
    this.onRunPublished?.(run);
    this.publishTo(RUN_EVENTS, 'run', run);
  }

  /** A run was deleted: the runs page drops it. */
  publishRunDeleted(id: string): void {
    this.publishTo(RUN_EVENTS, 'run_deleted', { id });
  }

  /** A worker's heartbeat arrived: for the workers page. */
  publishWorker(worker: Worker): void {
    this.publishTo(RUN_EVENTS, 'worker', worker);
  }

  /**
   * Worker lines of every worker, in the system_logs shape: for the logs page. These streams have
   * no position to drop a repeat by, so a line published twice (a PostgreSQL hub's catch-up after
   * its LISTEN connection came back reads lines it published itself, or that a notice brings too)
   * goes out once: the last RECENT_SYSTEM_LINES lines sent are remembered by id and time (a seed
   * row's id stands in for its seq, and may be another line's: the time tells them apart).
   */
  publishSystemLines(lines: readonly SystemLog[]): void {
    for (const line of lines) {
      const every = this.topics.get(SYSTEM_LINES);
      const one = this.topics.get(systemLinesOf(line.source_id));
      if (every === undefined && one === undefined) continue;
      const key = `${line.id} ${line.timestamp}`;
      if (this.recentSystemLines.has(key)) continue;
      this.recentSystemLines.add(key);
      if (this.recentSystemLines.size > RECENT_SYSTEM_LINES) this.recentSystemLines.delete(this.recentSystemLines.values().next().value!);
      // every worker's lines have no one seq to resume by; one worker's do: its frames carry it
      if (every !== undefined) this.deliver([...every], { type: 'log', frame: sseFrame('log', line), level: line.level, line });
      if (one !== undefined) this.deliver([...one], { type: 'log', frame: sseFrame('log', line, line.seq), seq: line.seq, level: line.level, line });
    }
  }

  private publishTo(topic: string, type: 'run' | 'run_deleted' | 'worker', data: unknown): void {
    const listeners = this.topics.get(topic);
    if (!listeners) return;
    this.deliver([...listeners], { type, frame: sseFrame(type, data) });
  }

  /** `targets` is a copy: a listener may unsubscribe (close) while we deliver. */
  private deliver(targets: readonly LiveListener[], event: LiveEvent): void {
    for (const listener of targets) listener(event);
  }
}
