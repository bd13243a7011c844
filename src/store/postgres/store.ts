/**
 * PostgresStore: the store for a fleet, several hubs on one database.
 *
 * - Runs and tasks in `runs` (runs.ts); their lines in `run_chunks`, compressed chunks of up to
 *   1,000 lines (chunks.ts).
 * - Workers and their lines in the seeds' `workers` and `system_logs` (workers.ts): a worker that
 *   calls the seed's function directly and one that talks to a hub are the same to every hub.
 * - Claims: `FOR UPDATE SKIP LOCKED`, so each queued task goes to exactly one worker across hubs.
 * - Housekeeping: `exclusive()` takes a try-advisory-lock per pass, so it runs once, not per hub.
 * - Live across hubs: triggers NOTIFY small notices; `followOthers()` (notify.ts) LISTENs and
 *   publishes to this hub's subscribers what other processes committed.
 * - The schema is migrated on open under an advisory lock (migrate.ts).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { NulSafeClient } from './nul.js';
import { StreamLocks } from './stream-locks.js';
import { nowMicros, type LogRecord } from '../../core/record.js';
import type { LiveFanout } from '../../pipeline/live.js';
import {
  type RunStatus,
  type ClaimedTask,
  type LogPage,
  type LogQuery,
  type Run,
  type RunFilter,
  type RunFinish,
  type RunUpsert,
  type LineSearch,
  type LineSearchPage,
  type NewToken,
  type RunWriter,
  type Store,
  type SystemLog,
  type TokenRecord,
  type WriterClaim,
  type SystemLogFilter,
  type TaskSpec,
  type Worker,
  type WorkerHeartbeat,
} from '../store.js';
import { appendChunks, lastSeq, scanLines } from './chunks.js';
import { migratePostgres, type MigrationResult } from './migrate.js';
import { deleteChunksBefore, deleteRunsBefore, deleteSystemLogsBefore, type BatchOptions } from './retention.js';
import * as auth from './auth.js';
import * as leases from './leases.js';
import * as runs from './runs.js';
import { searchLines } from './search.js';
import * as workers from './workers.js';
import { queryWorkerLines, workerLastSeq, workerOf } from './worker-stream.js';
import { connectError, schemaError, withLocalDefaults } from './url.js';

// BIGINT (µs, counts) as numbers: every value runlog stores is below 2^53
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));

export interface PostgresOptions {
  /** apply pending migrations on open (default true) */
  migrate?: boolean;
  maxConnections?: number;
  retention?: BatchOptions;
}

const CONNECT_TIMEOUT_MS = 10_000;

export class PostgresStore implements Store {
  /** this process's name in the database: notices it caused carry it, so it does not publish them twice */
  readonly origin = `runlog-${randomBytes(6).toString('hex')}`;
  readonly pool: pg.Pool;
  migration: MigrationResult | undefined;
  private readonly streamLocks: StreamLocks;

  private constructor(
    readonly url: string,
    private readonly options: PostgresOptions,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      application_name: this.origin,
      Client: NulSafeClient,
      // a database that does not answer (a host gone, a firewall dropping packets): the request fails
      // with 503 STORE_UNAVAILABLE instead of waiting for ever on a connection
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // an idle connection that breaks (the server restarts) is dropped by the pool; not a crash
    this.pool.on('error', () => {});
    // one that breaks while checked out between two queries (`exclusive` holds one while its task
    // runs) emits 'error' on its client with no query to take it: an uncaught exception, the hub
    // died. Its next query fails instead, and the pool drops it on release (no longer queryable).
    this.pool.on('connect', (client) => client.on('error', () => {}));
    this.streamLocks = new StreamLocks(url, this.origin);
  }

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(withLocalDefaults(url), options);
    try {
      try {
        (await store.pool.connect()).release();
      } catch (error) {
        throw connectError(error, url);
      }
      if (options.migrate !== false) {
        store.migration = await migratePostgres(store.pool).catch((error: unknown) => {
          throw schemaError(error, url);
        });
      }
    } catch (error) {
      await store.pool.end();
      throw error;
    }
    return store;
  }

  /** For a reader that does not migrate: the schema is there and current, else an error saying what to run. */
  async assertMigrated(where: string): Promise<void> {
    const { steps, version } = await migratePostgres(this.pool, { dryRun: true });
    if (steps.length === 0) return;
    throw new Error(
      version === 0
        ? `${where} has no runlog schema: start a hub on it (runlog server --db …) or run \`runlog migrate --db …\``
        : `${where} is at schema version ${version}, behind this runlog's (${steps.length} steps): run \`runlog migrate --db …\``,
    );
  }

  upsertRun(run: RunUpsert): Promise<{ run: Run; created: boolean }> {
    return runs.upsertRun(this.pool, run);
  }

  finishRun(id: string, finish: RunFinish): Promise<Run | undefined> {
    return runs.finishRun(this.pool, id, finish);
  }

  getRun(id: string): Promise<Run | undefined> {
    return runs.getRun(this.pool, id);
  }

  listRuns(filter: RunFilter): Promise<Run[]> {
    return runs.listRuns(this.pool, filter);
  }

  async appendRecords(stream: string, records: readonly LogRecord[]): Promise<LogRecord[]> {
    if (records.length === 0) return [];
    const worker = workerOf(stream);
    if (worker !== undefined) return workers.appendSystemLogs(this.pool, worker, stream, records);
    return appendChunks(this.pool, stream, records);
  }

  async queryLogs(stream: string, query: LogQuery): Promise<LogPage> {
    const worker = workerOf(stream);
    if (worker !== undefined) return queryWorkerLines(this.pool, worker, query);
    const { records, truncated } = await scanLines(this.pool, stream, query);
    return { records, total_lines: await this.lineCount(stream), truncated };
  }

  async lastSeq(stream: string): Promise<number> {
    const worker = workerOf(stream);
    if (worker === undefined) return lastSeq(this.pool, stream);
    return workerLastSeq(this.pool, worker);
  }

  async readLogs(stream: string, afterSeq: number, limit: number): Promise<LogRecord[]> {
    // no line count here: a page of lines is all a reader (the live path, a download, an SSE
    // resume's backlog) needs, and a worker's count is a scan of all its rows, on every page
    const worker = workerOf(stream);
    if (worker !== undefined) return (await queryWorkerLines(this.pool, worker, { after: afterSeq, limit }, false)).records;
    return (await scanLines(this.pool, stream, { after: afterSeq, limit })).records;
  }

  /** Matching lines of every run and worker, newest first (search.ts). */
  searchLines(filter: LineSearch): Promise<LineSearchPage> {
    return searchLines(this.pool, filter);
  }

  setDiagnostics(runId: string, diagnostics: unknown): Promise<void> {
    return runs.setDiagnostics(this.pool, runId, diagnostics);
  }

  createTask(run: RunUpsert, spec: TaskSpec): Promise<Run> {
    return runs.createTask(this.pool, run, spec);
  }

  claimTask(workerId: string, leaseS = leases.DEFAULT_LEASE_S, skip: readonly string[] = []): Promise<ClaimedTask | undefined> {
    return runs.claimTask(this.pool, workerId, leaseS, skip);
  }

  releaseTask(runId: string): Promise<Run | undefined> {
    return runs.releaseTask(this.pool, runId);
  }

  runningOn(workerId: string): Promise<Run[]> {
    return runs.runningOn(this.pool, workerId);
  }

  /** How many runs of each status (for /metrics). */
  countRuns(): Promise<Record<RunStatus, number>> {
    return runs.countRuns(this.pool);
  }

  rerunsOf(id: string): Promise<string[]> {
    return leases.rerunsOf(this.pool, id);
  }

  renewLease(id: string, now: number, leaseS?: number): Promise<Run | undefined> {
    return leases.renewLease(this.pool, id, now, leaseS);
  }

  expiredLeases(now: number, heardSince: number): Promise<Run[]> {
    return leases.expiredLeases(this.pool, now, heardSince);
  }

  requestCancel(id: string, by: string, now: number): Promise<Run | undefined> {
    return leases.requestCancel(this.pool, id, by, now);
  }

  deleteRun(id: string): Promise<'deleted' | 'active' | 'missing'> {
    return leases.deleteRun(this.pool, id);
  }

  getSpec(id: string): Promise<TaskSpec | undefined> {
    return leases.getSpec(this.pool, id);
  }

  recordHeartbeat(heartbeat: WorkerHeartbeat): Promise<void> {
    return workers.recordHeartbeat(this.pool, heartbeat);
  }

  clearCurrentTask(workerId: string, taskIds: readonly string[]): Promise<void> {
    return workers.clearCurrentTask(this.pool, workerId, taskIds);
  }

  touchWorker(id: string, heartbeatIntervalS: number, now: number): Promise<void> {
    return workers.touchWorker(this.pool, id, heartbeatIntervalS, now);
  }

  getWorker(id: string, now: number): Promise<Worker | undefined> {
    return workers.getWorker(this.pool, id, now);
  }

  listWorkers(now: number): Promise<Worker[]> {
    return workers.listWorkers(this.pool, now);
  }

  querySystemLogs(filter: SystemLogFilter): Promise<SystemLog[]> {
    return workers.querySystemLogs(this.pool, filter);
  }

  async deleteLinesBefore(prefix: string, before: number): Promise<number> {
    if (prefix === 'worker:') return deleteSystemLogsBefore(this.pool, before, this.options.retention);
    return deleteChunksBefore(this.pool, prefix, before, this.options.retention);
  }

  deleteRunsBefore(before: number): Promise<number> {
    return deleteRunsBefore(this.pool, before, this.options.retention);
  }

  createToken(token: NewToken): Promise<boolean> {
    return auth.createToken(this.pool, token, nowMicros());
  }

  listTokens(): Promise<TokenRecord[]> {
    return auth.listTokens(this.pool);
  }

  findToken(hash: string): Promise<TokenRecord | undefined> {
    return auth.findToken(this.pool, hash);
  }

  revokeToken(name: string): Promise<boolean> {
    return auth.revokeToken(this.pool, name);
  }

  touchToken(name: string, at: number): Promise<void> {
    return auth.touchToken(this.pool, name, at);
  }

  countTokens(): Promise<number> {
    return auth.countTokens(this.pool);
  }

  createSession(hash: string, tokenName: string, expiresAt: number): Promise<void> {
    return auth.createSession(this.pool, hash, tokenName, expiresAt);
  }

  findSession(hash: string, now: number): Promise<TokenRecord | undefined> {
    return auth.findSession(this.pool, hash, now);
  }

  deleteSession(hash: string): Promise<void> {
    return auth.deleteSession(this.pool, hash);
  }

  claimRunWriter(runId: string, writer: RunWriter): Promise<WriterClaim> {
    return auth.claimRunWriter(this.pool, runId, writer);
  }

  setRunWriter(runId: string, writer: RunWriter): Promise<void> {
    return auth.setRunWriter(this.pool, runId, writer);
  }

  getRunWriter(runId: string): Promise<RunWriter | undefined> {
    return auth.getRunWriter(this.pool, runId);
  }

  /** Runs `task` here unless another hub on this database is running it now (then: undefined). */
  async exclusive<T>(name: string, task: () => Promise<T>): Promise<T | undefined> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 11)) AS ok', [`runlog:${name}`]);
      if (!rows[0]?.ok) return undefined;
      try {
        return await task();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 11))', [`runlog:${name}`]);
      }
    } finally {
      client.release();
    }
  }

  /** Publishes to `live` what other processes on this database commit; returns how to stop. */
  async followOthers(live: LiveFanout, onError?: (message: string) => void, onTokensChanged?: () => void): Promise<() => Promise<void>> {
    const { followNotices } = await import('./notify.js');
    return followNotices(this, live, onError, onTokensChanged);
  }

  lockStream(stream: string): Promise<() => Promise<void>> {
    return this.streamLocks.lock(stream);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.streamLocks.close();
    await this.pool.end();
  }

  /** Worker rows by id range (from a notice), as records of their worker's stream. */
  async systemLogRows(low: number, high: number): Promise<workers.SystemLogRow[]> {
    return workers.systemLogsByIds(this.pool, low, high);
  }

  /** A worker's last line without counting its lines (every heartbeat asks: see WorkerLines). */
  async lastRecord(stream: string): Promise<LogRecord | undefined> {
    const worker = workerOf(stream);
    if (worker === undefined) return (await this.queryLogs(stream, { tail: 1 })).records[0];
    return (await queryWorkerLines(this.pool, worker, { tail: 1 }, false)).records[0];
  }

  private async lineCount(stream: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      'SELECT COALESCE((SELECT line_count FROM runs WHERE id = $1), (SELECT COALESCE(SUM(count), 0) FROM run_chunks WHERE stream = $1)) AS n',
      [stream],
    );
    return Number(rows[0]?.n ?? 0);
  }
}
