/**
 * PostgreSQL: the runs' rows (as sqlite/runs.ts): made or updated, ended, read, listed, counted;
 * and tasks, queued runs with a spec: created, claimed by one worker across hubs, handed back.
 * Leases, cancel requests and re-runs are in leases.ts.
 */
import type pg from 'pg';
import { nowMicros } from '../../core/record.js';
import { labelPattern, runFromRow, taskRowValues, updatableFields, type RunRow } from '../rows.js';
import { MAX_PAGE, RUN_STATUSES, type ClaimedTask, type Run, type RunFilter, type RunFinish, type RunStatus, type RunUpsert, type TaskSpec } from '../store.js';
import { lastSeq } from './chunks.js';
import { foldAscii } from '../../core/text.js';
import { asciiFolded, foldedPattern } from './fold.js';

export async function upsertRun(db: pg.Pool, run: RunUpsert): Promise<{ run: Run; created: boolean }> {
  const { rows } = await db.query<RunRow & { created: boolean }>(
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
    await db.query(`UPDATE runs SET ${fields.map(([name], i) => `${name} = $${i + 2}`).join(', ')} WHERE id = $1`, [
      run.id,
      ...fields.map(([, value]) => value),
    ]);
  }
  return { run: (await getRun(db, run.id)) as Run, created: false };
}

export async function finishRun(db: pg.Pool, id: string, finish: RunFinish): Promise<Run | undefined> {
  const { rows } = await db.query<RunRow>(
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
  return rows[0] === undefined ? getRun(db, id) : runFromRow(rows[0]);
}

export async function getRun(db: pg.Pool, id: string): Promise<Run | undefined> {
  const { rows } = await db.query<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
  return rows[0] === undefined ? undefined : runFromRow(rows[0]);
}

export async function listRuns(db: pg.Pool, filter: RunFilter): Promise<Run[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.status) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  if (filter.q) {
    params.push(foldedPattern(filter.q));
    const at = `$${params.length}`;
    const fields = ['id', 'name', 'command', 'worker_id', 'task_id', 'labels'].map((field) => `${asciiFolded(field)} LIKE ${at}`);
    // `team=nlp` finds the label as stored: {"team":"nlp"}
    const label = labelPattern(foldAscii(filter.q));
    if (label !== undefined) {
      params.push(label);
      fields.push(`${asciiFolded('labels')} LIKE $${params.length}`);
    }
    where.push(`(${fields.join(' OR ')})`);
  }
  if (filter.labels !== undefined && Object.keys(filter.labels).length > 0) {
    params.push(JSON.stringify(filter.labels));
    where.push(`labels::jsonb @> $${params.length}::jsonb`);
  }
  params.push(Math.min(filter.limit ?? 100, MAX_PAGE));
  const { rows } = await db.query<RunRow>(
    `SELECT * FROM runs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, ord DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(runFromRow);
}

/** How many runs of each status (for /metrics). */
export async function countRuns(db: pg.Pool): Promise<Record<RunStatus, number>> {
  const counts = Object.fromEntries(RUN_STATUSES.map((status) => [status, 0])) as Record<RunStatus, number>;
  const { rows } = await db.query<{ status: RunStatus; n: number }>('SELECT status, COUNT(*)::int AS n FROM runs GROUP BY status');
  for (const row of rows) if (row.status in counts) counts[row.status] = row.n;
  return counts;
}

export async function setDiagnostics(db: pg.Pool, runId: string, diagnostics: unknown): Promise<void> {
  await db.query('UPDATE runs SET diagnostics = $2 WHERE id = $1', [runId, JSON.stringify(diagnostics)]);
}

export async function createTask(db: pg.Pool, run: RunUpsert, spec: TaskSpec): Promise<Run> {
  const { rows } = await db.query<RunRow>(
    `INSERT INTO runs (id, name, command, status, created_at, task_id, labels, spec, rerun_of)
     VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8) RETURNING *`,
    taskRowValues(run, spec, nowMicros()),
  );
  return runFromRow(rows[0] as RunRow);
}

export async function claimTask(db: pg.Pool, workerId: string, leaseS: number, skip: readonly string[]): Promise<ClaimedTask | undefined> {
  // SKIP LOCKED: claimers on every hub pass over a row another is taking, never wait on it, never share it
  const now = nowMicros();
  const { rows } = await db.query<RunRow & { spec: string }>(
    `UPDATE runs SET status = 'running', worker_id = $1, started_at = $2, lease_s = $3, heard_at = $2
     WHERE id = (SELECT id FROM runs WHERE status = 'queued' AND spec IS NOT NULL AND id <> ALL($4::text[])
                 ORDER BY created_at, ord LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [workerId, now, leaseS, skip],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  return { run: runFromRow(row), spec: JSON.parse(row.spec) as TaskSpec, last_seq: await lastSeq(db, row.id) };
}

export async function releaseTask(db: pg.Pool, runId: string): Promise<Run | undefined> {
  await db.query(
    `UPDATE runs SET status = 'queued', worker_id = NULL, started_at = NULL, heard_at = NULL
     WHERE id = $1 AND status = 'running' AND spec IS NOT NULL AND cancel_by IS NULL`,
    [runId],
  );
  return getRun(db, runId);
}

export async function runningOn(db: pg.Pool, workerId: string): Promise<Run[]> {
  const { rows } = await db.query<RunRow>(`SELECT * FROM runs WHERE worker_id = $1 AND status = 'running'`, [workerId]);
  return rows.map(runFromRow);
}
