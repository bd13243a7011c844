/**
 * LiveFanout: committed records → the live subscribers of their stream.
 *
 * Publish after commit: the hub calls it only with what the store has committed, so a live
 * viewer never sees a line that could still be lost. Each event's SSE frame is built once, however
 * many subscribers there are. Delivery is synchronous and never waits on a subscriber: a slow one
 * bounds its own queue (see the SSE route).
 */
import { sseFrame } from '../core/sse.js';
import { microsToIso, toWire, type LogRecord, type ProgressUpdate } from '../core/record.js';
import type { Run, SystemLog, Worker } from '../store/store.js';

export interface LiveEvent {
  type: 'log' | 'progress' | 'end' | 'run' | 'worker';
  /** the record's seq for `log`, 0 otherwise */
  seq: number;
  frame: string;
}

export type LiveListener = (event: LiveEvent) => void;

/** Topics that are not a stream: `#` never starts an id, so they cannot collide with a run. */
export const RUN_EVENTS = '#events';
export const SYSTEM_LINES = '#system';

/** The lines of one worker, in the system_logs shape. */
export function systemLinesOf(workerId: string): string {
  return `${SYSTEM_LINES}:${workerId}`;
}

export class LiveFanout {
  private readonly topics = new Map<string, Set<LiveListener>>();

  subscribe(stream: string, listener: LiveListener): () => void {
    let listeners = this.topics.get(stream);
    if (!listeners) this.topics.set(stream, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.topics.get(stream) === listeners) this.topics.delete(stream);
    };
  }

  subscriberCount(stream?: string): number {
    if (stream !== undefined) return this.topics.get(stream)?.size ?? 0;
    let total = 0;
    for (const listeners of this.topics.values()) total += listeners.size;
    return total;
  }

  publishRecords(stream: string, records: readonly LogRecord[]): void {
    const listeners = this.topics.get(stream);
    if (!listeners) return;
    const targets = [...listeners];
    for (const record of records) {
      this.deliver(targets, { type: 'log', seq: record.seq, frame: sseFrame('log', toWire(record), record.seq) });
    }
  }

  publishProgress(stream: string, updates: readonly ProgressUpdate[]): void {
    const listeners = this.topics.get(stream);
    if (!listeners) return;
    const targets = [...listeners];
    for (const update of updates) {
      const data = { ...update, timestamp: microsToIso(update.timestamp) };
      this.deliver(targets, { type: 'progress', seq: 0, frame: sseFrame('progress', data) });
    }
  }

  publishEnd(run: Run): void {
    const listeners = this.topics.get(run.id);
    if (!listeners) return;
    this.deliver([...listeners], { type: 'end', seq: 0, frame: sseFrame('end', run) });
  }

  /** A run was created, claimed, handed back or ended: for the runs page. */
  publishRun(run: Run): void {
    this.publishTo(RUN_EVENTS, 'run', run);
  }

  /** A worker's heartbeat arrived: for the workers page. */
  publishWorker(worker: Worker): void {
    this.publishTo(RUN_EVENTS, 'worker', worker);
  }

  /** Worker lines of every worker, in the system_logs shape: for the logs page. */
  publishSystemLines(lines: readonly SystemLog[]): void {
    for (const line of lines) {
      const targets = [...(this.topics.get(SYSTEM_LINES) ?? []), ...(this.topics.get(systemLinesOf(line.source_id)) ?? [])];
      if (targets.length > 0) this.deliver(targets, { type: 'log', seq: 0, frame: sseFrame('log', line) });
    }
  }

  private publishTo(topic: string, type: LiveEvent['type'], data: unknown): void {
    const listeners = this.topics.get(topic);
    if (!listeners) return;
    this.deliver([...listeners], { type, seq: 0, frame: sseFrame(type, data) });
  }

  /** `targets` is a copy: a listener may unsubscribe (close) while we deliver. */
  private deliver(targets: readonly LiveListener[], event: LiveEvent): void {
    for (const listener of targets) listener(event);
  }
}
