/**
 * SqliteStore: the embedded default, one file in the data directory.
 * WAL, so readers (the hub's queries, `runlog logs`) never wait for the writer, and several
 * processes (a hub and a runner that found no hub) can share the file.
 * Runs and tasks: runs.ts; lines: lines.ts, read by reads.ts; workers: workers.ts; tokens: auth.ts.
 */
import Database from 'better-sqlite3';
import { statement } from './statements.js';
import { dirname } from 'node:path';
import { closeSync, openSync } from 'node:fs';
import { nowMicros, type LogRecord } from '../../core/record.js';
import { DEFAULTS, LEASE_MISSES } from '../../core/config.js';
import { isAfterCursor } from '../search-order.js';
import { runFromRow, type RunRow } from '../rows.js';
import {
  MAX_PAGE,
  type RunStatus,
  type ClaimedTask,
  type SystemLog,
  type SystemLogFilter,
  type TaskSpec,
  type Worker,
  type WorkerHeartbeat,
  type LineSearch,
  type LineSearchPage,
  type LogPage,
  type LogQuery,
  type Run,
  type RunFilter,
  type RunFinish,
  type RunUpsert,
  type Store,
  type NewToken,
  type RunWriter,
  type TokenRecord,
  type WriterClaim,
} from '../store.js';
import { SqliteLines } from './lines.js';
import { MIGRATIONS, openVersioned, runMigrations } from './migrations.js';
import { refuseNewerSchema } from '../schema-version.js';
import { queryStream, readStream, scanNewest } from './reads.js';
import { SCHEMA } from './schema.js';
import * as workers from './workers.js';
import * as auth from './auth.js';
import * as runs from './runs.js';
import { makeDirectory } from '../../core/make-dir.js';

/**
 * SQLite's page cache for this connection, in KiB as the pragma takes it (negative: KiB, not pages).
 * better-sqlite3 raises SQLite's 2 MiB default to 16 MiB, and a hub ingesting a big run fills all of it
 * with pages it has just written and will not read again (appends go to the tables' right edge):
 * 16 MiB of the hub's resident memory for nothing. Reads of older chunks come from the kernel's page
 * cache, a copy away, and a chunk is ~4,000 lines: a 10M-line query reads a few pages per chunk.
 */
const CACHE_KIB = -2048;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly lines: SqliteLines;
  private readonly countLines: Database.Statement<[number, string]>;
  private readonly appendTx: Database.Transaction<(stream: string, records: readonly LogRecord[]) => LogRecord[]>;

  constructor(readonly file: string) {
    if (file !== ':memory:') {
      makeDirectory(dirname(file));
      // a new file holds every line and run: its owner's only (SQLite gives its -wal and -shm this
      // mode too); an existing one keeps its mode, and any trouble is openVersioned's to name
      try {
        closeSync(openSync(file, 'wx', 0o600));
      } catch {
        // exists, or cannot be made: said below
      }
    }
    const { db, version } = openVersioned(file);
    this.db = db;
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL'); // WAL + NORMAL: durable across a crash of the process
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma(`cache_size = ${CACHE_KIB}`);
    // before the schema is touched: a file a newer runlog migrated is refused as it is
    refuseNewerSchema('SQLite file', version, MIGRATIONS);
    this.db.exec(SCHEMA);
    this.db.exec(auth.AUTH_SCHEMA);
    runMigrations(this.db);
    this.lines = new SqliteLines(this.db);
    this.countLines = this.db.prepare('UPDATE runs SET line_count = line_count + ? WHERE id = ?');
    this.appendTx = this.db.transaction((stream: string, records: readonly LogRecord[]) => this.insertNew(stream, records));
  }

  async upsertRun(run: RunUpsert): Promise<{ run: Run; created: boolean }> {
    return runs.upsertRun(this.db, run);
  }

  async finishRun(id: string, finish: RunFinish): Promise<Run | undefined> {
    return runs.finishRun(this.db, id, finish);
  }

  async getRun(id: string): Promise<Run | undefined> {
    return runs.getRun(this.db, id);
  }

  async rerunsOf(id: string): Promise<string[]> {
    return this.sql('SELECT id FROM runs WHERE rerun_of = ? ORDER BY created_at, rowid').pluck().all(id) as string[];
  }

  async renewLease(id: string, now: number, leaseS?: number): Promise<Run | undefined> {
    this.sql('UPDATE runs SET heard_at = ?, lease_s = COALESCE(?, lease_s, ?) WHERE id = ?').run(now, leaseS ?? null, DEFAULTS.leaseSeconds, id);
    return runs.getRun(this.db, id);
  }

  async expiredLeases(now: number, heardSince: number): Promise<Run[]> {
    const rows = this.sql(
      `SELECT * FROM runs WHERE status = 'running' AND lease_s IS NOT NULL AND MAX(COALESCE(heard_at, 0), ?) + lease_s * ? < ?`,
    ).all(heardSince, LEASE_MISSES * 1e6, now) as RunRow[];
    return rows.map(runFromRow);
  }

  async requestCancel(id: string, by: string, now: number): Promise<Run | undefined> {
    this.db.transaction(() => {
      // one statement each: a claim (queued → running) cannot slip between the check and the change
      this.sql(
        `UPDATE runs SET status = 'cancelled', error_message = ?, completed_at = ?, cancel_by = ?, cancel_at = ?
         WHERE id = ? AND status = 'queued'`,
      ).run(`cancelled by ${by}`, now, by, now, id);
      this.sql(`UPDATE runs SET cancel_by = ?, cancel_at = ? WHERE id = ? AND status = 'running' AND cancel_by IS NULL`).run(by, now, id);
    }).immediate();
    return runs.getRun(this.db, id);
  }

  async deleteRun(id: string): Promise<'deleted' | 'active' | 'missing'> {
    return this.db.transaction(() => {
      const row = this.sql('SELECT status FROM runs WHERE id = ?').get(id) as { status: string } | undefined;
      if (row === undefined) return 'missing' as const;
      if (row.status === 'queued' || row.status === 'running') return 'active' as const;
      this.lines.deleteStream(id);
      this.sql('DELETE FROM runs WHERE id = ?').run(id);
      return 'deleted' as const;
    }).immediate();
  }

  async getSpec(id: string): Promise<TaskSpec | undefined> {
    const spec = this.sql('SELECT spec FROM runs WHERE id = ?').pluck().get(id) as string | null | undefined;
    return spec === undefined || spec === null ? undefined : (JSON.parse(spec) as TaskSpec);
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    return runs.listRuns(this.db, filter);
  }

  async countRuns(): Promise<Record<RunStatus, number>> {
    return runs.countRuns(this.db);
  }

  async appendRecords(stream: string, records: readonly LogRecord[]): Promise<LogRecord[]> {
    if (records.length === 0) return [];
    return this.appendTx.immediate(stream, records);
  }

  async queryLogs(stream: string, query: LogQuery): Promise<LogPage> {
    const page = await queryStream(this.lines, stream, query);
    return { ...page, total_lines: this.lineCount(stream) };
  }

  async lastSeq(stream: string): Promise<number> {
    return this.lines.lastSeq(stream);
  }

  async readLogs(stream: string, afterSeq: number, limit: number): Promise<LogRecord[]> {
    return readStream(this.lines, stream, afterSeq, limit);
  }

  async searchLines(filter: LineSearch): Promise<LineSearchPage> {
    const limit = Math.min(filter.limit ?? 100, MAX_PAGE);
    const labels = Object.entries(filter.labels ?? {});
    // labels narrow to the runs that have them; a run's id is its stream
    const where =
      labels.length === 0
        ? { sql: '1', params: [] }
        : {
            sql: `stream IN (SELECT id FROM runs WHERE ${labels.map(() => 'json_extract(labels, ?) = ?').join(' AND ')})`,
            params: labels.flatMap(([key, value]) => [`$.${JSON.stringify(key)}`, value]),
          };
    const { until, before } = filter;
    const keep = until !== undefined && before !== undefined ? (record: LogRecord) => isAfterCursor(record, until, before) : undefined;
    return scanNewest(this.lines, where, filter, limit, keep);
  }

  async setDiagnostics(runId: string, diagnostics: unknown): Promise<void> {
    runs.setDiagnostics(this.db, runId, diagnostics);
  }

  async createTask(run: RunUpsert, spec: TaskSpec): Promise<Run> {
    return runs.createTask(this.db, run, spec);
  }

  async claimTask(workerId: string, leaseS = DEFAULTS.leaseSeconds, skip: readonly string[] = []): Promise<ClaimedTask | undefined> {
    return runs.claimTask(this.db, this.lines, workerId, leaseS, skip);
  }

  async releaseTask(runId: string): Promise<Run | undefined> {
    return runs.releaseTask(this.db, runId);
  }

  async runningOn(workerId: string): Promise<Run[]> {
    return runs.runningOn(this.db, workerId);
  }

  async recordHeartbeat(heartbeat: WorkerHeartbeat): Promise<void> {
    workers.recordHeartbeat(this.db, heartbeat);
  }

  async clearCurrentTask(workerId: string, taskIds: readonly string[]): Promise<void> {
    workers.clearCurrentTask(this.db, workerId, taskIds);
  }

  async touchWorker(id: string, heartbeatIntervalS: number, now: number): Promise<void> {
    workers.touchWorker(this.db, id, heartbeatIntervalS, now);
  }

  async getWorker(id: string, now: number): Promise<Worker | undefined> {
    return workers.getWorker(this.db, id, now);
  }

  async listWorkers(now: number): Promise<Worker[]> {
    return workers.listWorkers(this.db, now);
  }

  async querySystemLogs(filter: SystemLogFilter): Promise<SystemLog[]> {
    return workers.querySystemLogs(this.lines, filter);
  }

  async deleteLinesBefore(prefix: string, before: number): Promise<number> {
    return this.lines.deleteBefore(prefix, before);
  }

  async deleteRunsBefore(before: number): Promise<number> {
    return this.db.transaction(() => {
      const ids = this.sql(`SELECT id FROM runs WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < ?`)
        .pluck()
        .all(before) as string[];
      const deleteRun = this.sql('DELETE FROM runs WHERE id = ?');
      const deleteWriter = this.sql('DELETE FROM run_writers WHERE run_id = ?');
      for (const id of ids) {
        this.lines.deleteStream(id);
        deleteRun.run(id);
        deleteWriter.run(id);
      }
      return ids.length;
    })();
  }

  async createToken(token: NewToken): Promise<boolean> {
    return auth.createToken(this.db, token, nowMicros());
  }

  async listTokens(): Promise<TokenRecord[]> {
    return auth.listTokens(this.db);
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    return auth.findToken(this.db, hash);
  }

  async revokeToken(name: string): Promise<boolean> {
    return auth.revokeToken(this.db, name);
  }

  async touchToken(name: string, at: number): Promise<void> {
    auth.touchToken(this.db, name, at);
  }

  async countTokens(): Promise<number> {
    return auth.countTokens(this.db);
  }

  async createSession(hash: string, tokenName: string, expiresAt: number): Promise<void> {
    auth.createSession(this.db, hash, tokenName, expiresAt);
  }

  async findSession(hash: string, now: number): Promise<TokenRecord | undefined> {
    return auth.findSession(this.db, hash, now);
  }

  async deleteSession(hash: string): Promise<void> {
    auth.deleteSession(this.db, hash);
  }

  async claimRunWriter(runId: string, writer: RunWriter): Promise<WriterClaim> {
    return auth.claimRunWriter(this.db, runId, writer);
  }

  async setRunWriter(runId: string, writer: RunWriter): Promise<void> {
    auth.setRunWriter(this.db, runId, writer);
  }

  async getRunWriter(runId: string): Promise<RunWriter | undefined> {
    return auth.getRunWriter(this.db, runId);
  }

  private dataVersion = -1;

  async changedElsewhere(): Promise<boolean> {
    // data_version changes when another connection commits, never for this one's own commits
    const version = this.db.pragma('data_version', { simple: true }) as number;
    const changed = version !== this.dataVersion;
    this.dataVersion = version;
    return changed;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private insertNew(stream: string, records: readonly LogRecord[]): LogRecord[] {
    const inserted = this.lines.append(stream, records);
    if (inserted.length > 0) this.countLines.run(inserted.length, stream);
    return inserted;
  }

  private lineCount(stream: string): number {
    const row = this.sql('SELECT line_count FROM runs WHERE id = ?').get(stream) as { line_count: number } | undefined;
    if (row !== undefined) return row.line_count;
    return this.lines.countLines(stream);
  }

  private sql(text: string): Database.Statement {
    return statement(this.db, text);
  }
}

