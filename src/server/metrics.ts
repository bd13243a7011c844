/**
 * HubMetrics: what `GET /metrics` says, in Prometheus text format (prom-client, one registry per
 * hub, so two hubs in one process keep their own counts).
 *
 * Counted as it happens: lines and bytes stored (the store's appendRecords, wrapped once here, so
 * every route that ingests is counted the same way), and the time each of those writes takes.
 * Read at scrape: SSE clients (the live fan-out's subscribers), workers by status, runs by status,
 * queued tasks. Plus prom-client's process metrics (CPU, memory, event loop lag).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { nowMicros, type LogRecord } from '../core/record.js';
import type { LiveFanout } from '../pipeline/live.js';
import { MAX_PAGE, RUN_STATUSES, type RunStatus, type Store } from '../store/store.js';

/** What a stream is, for the ingest counters: a run, a worker's own lines, a service's OTLP stream. */
export type StreamKind = 'run' | 'worker' | 'service';
const STREAM_KINDS: readonly StreamKind[] = ['run', 'worker', 'service'];

export function streamKind(stream: string): StreamKind {
  if (stream.startsWith('worker:')) return 'worker';
  if (stream.startsWith('svc-')) return 'service';
  return 'run';
}

/**
 * prom-client's process metrics (CPU, memory, event loop lag) describe the process, not a hub:
 * collected once per process, whatever the number of hubs in it (tests build many).
 */
let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    // prom-client counts CPU from here (the first scrape); a *_total since the process started is
    // what Prometheus's process collectors say, so what was used before is added once
    const before = process.cpuUsage();
    collectDefaultMetrics({ register: processRegistry });
    const add = (name: string, micros: number) => (processRegistry?.getSingleMetric(name) as Counter | undefined)?.inc(micros / 1e6);
    add('process_cpu_user_seconds_total', before.user);
    add('process_cpu_system_seconds_total', before.system);
    add('process_cpu_seconds_total', before.user + before.system);
  }
  return processRegistry;
}

export class HubMetrics {
  readonly registry = new Registry();
  private readonly lines: Counter<'kind'>;
  private readonly bytes: Counter<'kind'>;
  private readonly writeSeconds: Histogram;

  constructor(store: Store, live: LiveFanout) {
    const registers = [this.registry];
    this.lines = new Counter({ name: 'runlog_lines_ingested_total', help: 'Lines stored (new, not resent), by kind of stream', labelNames: ['kind'], registers });
    this.bytes = new Counter({ name: 'runlog_bytes_ingested_total', help: 'UTF-8 bytes of the messages of the lines stored, by kind of stream', labelNames: ['kind'], registers });
    // every kind at 0 from the start: a series that appears only with its first line is no data
    // to rate() and to an alert until then (Prometheus: "avoid missing metrics")
    for (const kind of STREAM_KINDS) {
      this.lines.inc({ kind }, 0);
      this.bytes.inc({ kind }, 0);
    }
    this.writeSeconds = new Histogram({
      name: 'runlog_store_write_seconds',
      help: 'Time of each batch append to the store',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    new Gauge({
      name: 'runlog_sse_clients',
      help: 'Live subscribers (SSE connections) on this hub',
      registers,
      collect() {
        this.set(live.subscriberCount());
      },
    });
    new Gauge({
      name: 'runlog_workers',
      help: 'Workers known to the store, by status',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = { active: 0, stale: 0, offline: 0 };
        for (const worker of await store.listWorkers(nowMicros())) counts[worker.status]++;
        for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
      },
    });
    const runCounts = { at: 0, value: Promise.resolve({} as Record<RunStatus, number>) };
    // one count per scrape, shared by the two gauges below
    const countRuns = () => {
      if (Date.now() - runCounts.at > 500) {
        runCounts.at = Date.now();
        runCounts.value = runsByStatus(store);
      }
      return runCounts.value;
    };
    new Gauge({
      name: 'runlog_runs',
      help: 'Runs in the store, by status',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await countRuns();
        for (const status of RUN_STATUSES) this.set({ status }, counts[status] ?? 0);
      },
    });
    new Gauge({
      name: 'runlog_queue_depth',
      help: 'Tasks queued, waiting for a worker',
      registers,
      async collect() {
        this.set((await countRuns()).queued ?? 0);
      },
    });
  }

  /** The page GET /metrics answers: this hub's metrics, then the process's. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The store with its appends timed and counted; every other method as it is. */
  meter(store: Store): Store {
    const append = async (stream: string, records: readonly LogRecord[]): Promise<LogRecord[]> => {
      const stop = this.writeSeconds.startTimer();
      const inserted = await store.appendRecords(stream, records);
      stop();
      if (inserted.length > 0) {
        let bytes = 0;
        for (const record of inserted) bytes += Buffer.byteLength(record.message);
        const kind = streamKind(stream);
        this.lines.inc({ kind }, inserted.length);
        this.bytes.inc({ kind }, bytes);
      }
      return inserted;
    };
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(store, {
      get(target, property) {
        if (property === 'appendRecords') return append;
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        let method = bound.get(property);
        if (method === undefined) bound.set(property, (method = (value as (...args: unknown[]) => unknown).bind(target)));
        return method;
      },
    });
  }
}

/** The store's own count when it has one; else counted from the run list (at most MAX_PAGE a status). */
async function runsByStatus(store: Store): Promise<Record<RunStatus, number>> {
  if (store.countRuns) return store.countRuns();
  const entries = await Promise.all(RUN_STATUSES.map(async (status) => [status, (await store.listRuns({ status, limit: MAX_PAGE })).length] as const));
  return Object.fromEntries(entries) as Record<RunStatus, number>;
}
