/**
 * PostgresStore: the store for a fleet, several hubs on one database.
 *
 * - Runs in `runs`; their lines in `run_chunks`, compressed chunks of up to 1,000 lines (chunks.ts).
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
import { labelPattern, likePattern, runFromRow, taskRowValues, updatableFields, type RunRow } from '../rows.js';
import {
  MAX_PAGE,
  RUN_STATUSES,
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
import { searchLines } from './search.js';
import * as workers from './workers.js';
import { queryWorkerLines, workerLastSeq, workerOf } from './worker-stream.js';
import { connectError, withLocalDefaults } from './url.js';

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
      if (options.migrate !== false) store.migration = await migratePostgres(store.pool);
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

  async upsertRun(run: RunUpsert): Promise<{ run: Run; created: boolean }> {
    const { rows } = await this.pool.query<RunRow & { created: boolean }>(
      `INSERT INTO runs (id, name, command, status, created_at, started_at, log_path, worker_id, task_id, labels, lease_s, heard_at, rerun_of)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $5, $12)
       ON CONFLICT (id) DO NOTHING RETURNING *, true AS created`,
      [
        run.id,
        run.name ?? null,
        run.command ?? null,
        run.status ?? 'running',
        nowMicros(),
        run.started_at ?? null,
        run.log_path ?? null,
        run.worker_id ?? null,
        run.task_id ?? null,
        JSON.stringify(run.labels ?? {}),
        run.lease_s ?? null,
        run.rerun_of ?? null,
      ],
    );
    if (rows[0] !== undefined) return { run: runFromRow(rows[0]), created: true };
    const fields = updatableFields(run);
    if (fields.length > 0) {
      await this.pool.query(`UPDATE runs SET ${fields.map(([name], i) => `${name} = $${i + 2}`).join(', ')} WHERE id = $1`, [
        run.id,
        ...fields.map(([, value]) => value),
      ]);
    }
    return { run: (await this.getRun(run.id)) as Run, created: false };
  }

  async finishRun(id: string, finish: RunFinish): Promise<Run | undefined> {
    const { rows } = await this.pool.query<RunRow>(
      `UPDATE runs SET status = $2, exit_code = $3, signal = $4, error_message = $5, completed_at = $6,
         started_at = COALESCE(started_at, created_at), diagnostics = COALESCE($7, diagnostics), lost = $8
       WHERE id = $1 AND (status NOT IN ('completed', 'failed', 'cancelled') OR (lost AND $9)) RETURNING *`,
      [
        id,
        finish.status,
        finish.exit_code ?? null,
        finish.signal ?? null,
        finish.error_message ?? null,
        finish.completed_at ?? nowMicros(),
        finish.diagnostics === undefined ? null : JSON.stringify(finish.diagnostics),
        finish.lost === true,
        finish.replaceLost === true,
      ],
    );
    return rows[0] === undefined ? this.getRun(id) : runFromRow(rows[0]);
  }

  async getRun(id: string): Promise<Run | undefined> {
    const { rows } = await this.pool.query<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : runFromRow(rows[0]);
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.q) {
      params.push(likePattern(filter.q));
      const at = `$${params.length}`;
      const fields = ['id', 'name', 'command', 'worker_id', 'task_id', 'labels'].map((field) => `${field} ILIKE ${at}`);
      // `team=nlp` finds the label as stored: {"team":"nlp"}
      const label = labelPattern(filter.q);
      if (label !== undefined) {
        params.push(label);
        fields.push(`labels ILIKE $${params.length}`);
      }
      where.push(`(${fields.join(' OR ')})`);
    }
    if (filter.labels !== undefined && Object.keys(filter.labels).length > 0) {
      params.push(JSON.stringify(filter.labels));
      where.push(`labels::jsonb @> $${params.length}::jsonb`);
    }
    params.push(Math.min(filter.limit ?? 100, MAX_PAGE));
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM runs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, ord DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(runFromRow);
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

  async setDiagnostics(runId: string, diagnostics: unknown): Promise<void> {
    await this.pool.query('UPDATE runs SET diagnostics = $2 WHERE id = $1', [runId, JSON.stringify(diagnostics)]);
  }

  async createTask(run: RunUpsert, spec: TaskSpec): Promise<Run> {
    const { rows } = await this.pool.query<RunRow>(
      `INSERT INTO runs (id, name, command, status, created_at, task_id, labels, spec, rerun_of)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8) RETURNING *`,
      taskRowValues(run, spec, nowMicros()),
    );
    return runFromRow(rows[0] as RunRow);
  }

  async claimTask(workerId: string, leaseS = leases.DEFAULT_LEASE_S, skip: readonly string[] = []): Promise<ClaimedTask | undefined> {
    // SKIP LOCKED: claimers on every hub pass over a row another is taking, never wait on it, never share it
    const now = nowMicros();
    const { rows } = await this.pool.query<RunRow & { spec: string }>(
      `UPDATE runs SET status = 'running', worker_id = $1, started_at = $2, lease_s = $3, heard_at = $2
       WHERE id = (SELECT id FROM runs WHERE status = 'queued' AND spec IS NOT NULL AND id <> ALL($4::text[])
                   ORDER BY created_at, ord LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [workerId, now, leaseS, skip],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { run: runFromRow(row), spec: JSON.parse(row.spec) as TaskSpec, last_seq: await lastSeq(this.pool, row.id) };
  }

  async releaseTask(runId: string): Promise<Run | undefined> {
    await this.pool.query(
      `UPDATE runs SET status = 'queued', worker_id = NULL, started_at = NULL, heard_at = NULL
       WHERE id = $1 AND status = 'running' AND spec IS NOT NULL AND cancel_by IS NULL`,
      [runId],
    );
    return this.getRun(runId);
  }

  async runningOn(workerId: string): Promise<Run[]> {
    const { rows } = await this.pool.query<RunRow>(`SELECT * FROM runs WHERE worker_id = $1 AND status = 'running'`, [workerId]);
    return rows.map(runFromRow);
  }

  /** How many runs of each status (for /metrics). */
  async countRuns(): Promise<Record<RunStatus, number>> {
    const counts = Object.fromEntries(RUN_STATUSES.map((status) => [status, 0])) as Record<RunStatus, number>;
    const { rows } = await this.pool.query<{ status: RunStatus; n: number }>('SELECT status, COUNT(*)::int AS n FROM runs GROUP BY status');
    for (const row of rows) if (row.status in counts) counts[row.status] = row.n;
    return counts;
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
