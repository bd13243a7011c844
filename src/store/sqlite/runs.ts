/**
 * SQLite: the runs' rows (as postgres/runs.ts): made or updated, ended, read, listed, counted;
 * and tasks, queued runs with a spec: created, claimed by one worker, handed back. Synchronous:
 * the store's async methods call these, so an error still reaches the caller as a rejection.
 */
import type Database from 'better-sqlite3';
import { statement } from './statements.js';
import { nowMicros } from '../../core/record.js';
import { labelPattern, likePattern, runFromRow, taskRowValues, updatableFields, type RunRow } from '../rows.js';
import { MAX_PAGE, RUN_STATUSES, type ClaimedTask, type Run, type RunFilter, type RunFinish, type RunStatus, type RunUpsert, type TaskSpec } from '../store.js';
import type { SqliteLines } from './lines.js';

export function upsertRun(db: Database.Database, run: RunUpsert): { run: Run; created: boolean } {
  return db.transaction(() => {
    const existing = statement(db, 'SELECT id FROM runs WHERE id = ?').get(run.id);
    if (existing === undefined) {
      db
        .prepare(
          `INSERT INTO runs (id, name, command, status, created_at, started_at, log_path, worker_id, task_id, labels, lease_s, heard_at, rerun_of)
           VALUES (@id, @name, @command, @status, @created_at, @started_at, @log_path, @worker_id, @task_id, @labels, @lease_s, @created_at, @rerun_of)`,
        )
        .run({
          lease_s: run.lease_s ?? null,
          rerun_of: run.rerun_of ?? null,
          id: run.id,
          name: run.name ?? null,
          command: run.command ?? null,
          status: run.status ?? 'running',
          created_at: nowMicros(),
          started_at: run.started_at ?? null,
          log_path: run.log_path ?? null,
          worker_id: run.worker_id ?? null,
          task_id: run.task_id ?? null,
          labels: JSON.stringify(run.labels ?? {}),
        });
    } else {
      const fields = updatableFields(run);
      if (fields.length > 0) {
        const sets = fields.map(([column]) => `${column} = ?`).join(', ');
        statement(db, `UPDATE runs SET ${sets} WHERE id = ?`).run(...fields.map(([, value]) => value), run.id);
      }
    }
    return { run: getRun(db, run.id) as Run, created: existing === undefined };
  })();
}

export function finishRun(db: Database.Database, id: string, finish: RunFinish): Run | undefined {
  statement(
    db,
    `UPDATE runs SET status = ?, exit_code = ?, signal = ?, error_message = ?, completed_at = ?,
       started_at = COALESCE(started_at, created_at), lost = ?
     WHERE id = ? AND (status NOT IN ('completed', 'failed', 'cancelled') OR (lost = 1 AND ? = 1))`,
  ).run(
    finish.status,
    finish.exit_code ?? null,
    finish.signal ?? null,
    finish.error_message ?? null,
    finish.completed_at ?? nowMicros(),
    finish.lost ? 1 : 0,
    id,
    finish.replaceLost ? 1 : 0,
  );
  return getRun(db, id);
}

export function getRun(db: Database.Database, id: string): Run | undefined {
  const row = statement(db, 'SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  return row === undefined ? undefined : runFromRow(row);
}

export function listRuns(db: Database.Database, filter: RunFilter): Run[] {
  const limit = Math.min(filter.limit ?? 100, MAX_PAGE);
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.q) {
    const pattern = likePattern(filter.q);
    const fields = ['id', 'name', 'command', 'worker_id', 'task_id', 'labels'].map((field) => `${field} LIKE ? ESCAPE '\\'`);
    params.push(...fields.map(() => pattern));
    // `team=nlp` finds the label as stored: {"team":"nlp"}
    const label = labelPattern(filter.q);
    if (label !== undefined) {
      fields.push("labels LIKE ? ESCAPE '\\'");
      params.push(label);
    }
    where.push(`(${fields.join(' OR ')})`);
  }
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    where.push('json_extract(labels, ?) = ?');
    params.push(`$.${JSON.stringify(key)}`, value);
  }
  const rows = statement(db, `SELECT * FROM runs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(...params, limit);
  return (rows as RunRow[]).map(runFromRow);
}

export function countRuns(db: Database.Database): Record<RunStatus, number> {
  const counts = Object.fromEntries(RUN_STATUSES.map((status) => [status, 0])) as Record<RunStatus, number>;
  const rows = statement(db, 'SELECT status, count(*) AS n FROM runs GROUP BY status').all() as { status: RunStatus; n: number }[];
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

export function setDiagnostics(db: Database.Database, runId: string, diagnostics: unknown): void {
  statement(db, 'UPDATE runs SET diagnostics = ? WHERE id = ?').run(JSON.stringify(diagnostics), runId);
}

export function createTask(db: Database.Database, run: RunUpsert, spec: TaskSpec): Run {
  statement(
    db,
    `INSERT INTO runs (id, name, command, status, created_at, task_id, labels, spec, rerun_of)
     VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
  ).run(...taskRowValues(run, spec, nowMicros()));
  return getRun(db, run.id) as Run;
}

export function claimTask(db: Database.Database, lines: SqliteLines, workerId: string, leaseS: number, skip: readonly string[]): ClaimedTask | undefined {
  // one statement: SQLite runs it under the write lock, so two claimers never get the same task
  const now = nowMicros();
  const row = statement(
    db,
    `UPDATE runs SET status = 'running', worker_id = ?, started_at = ?, lease_s = ?, heard_at = ?
     WHERE id = (SELECT id FROM runs WHERE status = 'queued' AND spec IS NOT NULL AND id NOT IN (SELECT value FROM json_each(?))
                 ORDER BY created_at, rowid LIMIT 1)
     RETURNING *`,
  ).get(workerId, now, leaseS, now, JSON.stringify(skip)) as (RunRow & { spec: string }) | undefined;
  if (row === undefined) return undefined;
  return { run: runFromRow(row), spec: JSON.parse(row.spec) as TaskSpec, last_seq: lines.lastSeq(row.id) };
}

export function releaseTask(db: Database.Database, runId: string): Run | undefined {
  statement(
    db,
    `UPDATE runs SET status = 'queued', worker_id = NULL, started_at = NULL, heard_at = NULL
     WHERE id = ? AND status = 'running' AND spec IS NOT NULL AND cancel_by IS NULL`,
  ).run(runId);
  return getRun(db, runId);
}

export function runningOn(db: Database.Database, workerId: string): Run[] {
  return (statement(db, `SELECT * FROM runs WHERE worker_id = ? AND status = 'running'`).all(workerId) as RunRow[]).map(runFromRow);
}
