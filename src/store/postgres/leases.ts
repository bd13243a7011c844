/**
 * PostgreSQL: leases, cancel requests and re-runs (issue 9, PROTOCOL.md "Leases and cancel"), the
 * Store methods the SQLite store has for them, on the columns of migration 7.
 */
import type pg from 'pg';
import { DEFAULTS, LEASE_MISSES } from '../../core/config.js';
import { runFromRow, type RunRow } from '../rows.js';
import type { Run, TaskSpec } from '../store.js';
import { getRun } from './runs.js';

/** a writer silent for LEASE_MISSES × lease_s is lost; lease_s defaults to DEFAULTS.leaseSeconds */
export const DEFAULT_LEASE_S = DEFAULTS.leaseSeconds;

export const LEASE_COLUMNS = `
ALTER TABLE runs ADD COLUMN IF NOT EXISTS lease_s INTEGER;     -- how often the writer renews (NULL: never expires)
ALTER TABLE runs ADD COLUMN IF NOT EXISTS heard_at BIGINT;     -- µs: the writer's last sign of life
ALTER TABLE runs ADD COLUMN IF NOT EXISTS lost BOOLEAN NOT NULL DEFAULT false; -- failed by lease expiry: the writer may still end it
ALTER TABLE runs ADD COLUMN IF NOT EXISTS cancel_by TEXT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS cancel_at BIGINT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS rerun_of TEXT;
CREATE INDEX IF NOT EXISTS runs_leased ON runs (status, heard_at) WHERE lease_s IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_rerun_of ON runs (rerun_of) WHERE rerun_of IS NOT NULL;
`;

export async function rerunsOf(db: pg.Pool, id: string): Promise<string[]> {
  return (await db.query<{ id: string }>('SELECT id FROM runs WHERE rerun_of = $1 ORDER BY created_at, ord', [id])).rows.map((r) => r.id);
}

export async function renewLease(db: pg.Pool, id: string, now: number, leaseS?: number): Promise<Run | undefined> {
  await db.query('UPDATE runs SET heard_at = $1, lease_s = COALESCE($2, lease_s, $3) WHERE id = $4', [now, leaseS ?? null, DEFAULT_LEASE_S, id]);
  return getRun(db, id);
}

export async function expiredLeases(db: pg.Pool, now: number, heardSince: number): Promise<Run[]> {
  const { rows } = await db.query<RunRow>(
    `SELECT * FROM runs WHERE status = 'running' AND lease_s IS NOT NULL AND GREATEST(COALESCE(heard_at, 0), $1) + lease_s * $2 < $3`,
    [heardSince, LEASE_MISSES * 1e6, now],
  );
  return rows.map(runFromRow);
}

export async function requestCancel(db: pg.Pool, id: string, by: string, now: number): Promise<Run | undefined> {
  // one statement: a claim (queued → running) on another hub cannot slip between check and change
  await db.query(
    `UPDATE runs SET
       status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
       error_message = CASE WHEN status = 'queued' THEN $2 ELSE error_message END,
       completed_at = CASE WHEN status = 'queued' THEN $3 ELSE completed_at END,
       cancel_by = $4, cancel_at = $3
     WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND cancel_by IS NULL))`,
    [id, `cancelled by ${by}`, now, by],
  );
  return getRun(db, id);
}

export async function deleteRun(db: pg.Pool, id: string): Promise<'deleted' | 'active' | 'missing'> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ status: string }>('SELECT status FROM runs WHERE id = $1 FOR UPDATE', [id]);
    const status = rows[0]?.status;
    let outcome: 'deleted' | 'active' | 'missing' = 'deleted';
    if (status === undefined) outcome = 'missing';
    else if (status === 'queued' || status === 'running') outcome = 'active';
    else {
      await client.query('DELETE FROM run_chunks WHERE stream = $1', [id]);
      await client.query('DELETE FROM run_writers WHERE run_id = $1', [id]);
      await client.query('DELETE FROM runs WHERE id = $1', [id]);
      // the other hubs' runs pages drop it (notify.ts); sent at commit, as the triggers' notices are
      await client.query(`SELECT pg_notify('runlog', 'd 0 0 ' || replace(runlog_origin(), ' ', '_') || ' ' || $1)`, [id]);
    }
    await client.query('COMMIT');
    return outcome;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export async function getSpec(db: pg.Pool, id: string): Promise<TaskSpec | undefined> {
  const spec = (await db.query<{ spec: string | null }>('SELECT spec FROM runs WHERE id = $1', [id])).rows[0]?.spec;
  return spec === undefined || spec === null ? undefined : (JSON.parse(spec) as TaskSpec);
}
