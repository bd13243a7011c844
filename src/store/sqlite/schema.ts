/** The SQLite schema. Times are µs since the epoch; levels are their numeric rank. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id             TEXT PRIMARY KEY,
  name           TEXT,
  command        TEXT,
  status         TEXT NOT NULL,
  exit_code      INTEGER,
  signal         TEXT,
  created_at     INTEGER NOT NULL,
  started_at     INTEGER,
  completed_at   INTEGER,
  error_message  TEXT,
  log_path       TEXT,
  worker_id      TEXT,
  task_id        TEXT,
  labels         TEXT NOT NULL DEFAULT '{}',
  line_count     INTEGER NOT NULL DEFAULT 0,
  spec           TEXT,    -- a task: what the worker that claims it runs (JSON)
  diagnostics    TEXT     -- collected when the run failed (JSON)
);
CREATE INDEX IF NOT EXISTS runs_queued ON runs (status, created_at);
CREATE INDEX IF NOT EXISTS runs_by_worker ON runs (worker_id, status);

CREATE TABLE IF NOT EXISTS workers (
  id                    TEXT PRIMARY KEY,
  state                 TEXT NOT NULL,
  current_task_id       TEXT,
  vram_total_mb         INTEGER,
  vram_used_mb          INTEGER,
  gpus                  TEXT NOT NULL DEFAULT '[]',
  heartbeat_interval_s  REAL NOT NULL,
  first_seen            INTEGER NOT NULL,
  last_heartbeat        INTEGER NOT NULL,
  dropped_logs          INTEGER NOT NULL DEFAULT 0,
  stats                 TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at);

-- (stream, seq) is the identity of a line: clustered on it, so a run reads in order
CREATE TABLE IF NOT EXISTS log_lines (
  stream   TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  ts       INTEGER NOT NULL,
  level    INTEGER NOT NULL,
  message  TEXT NOT NULL,
  plain    TEXT,            -- the message without ANSI codes, only when it has some
  source   TEXT,
  phase    TEXT,
  logger   TEXT,
  task_id  TEXT,
  attrs    TEXT,
  PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
`;

/**
 * Migrations: how a database made by an earlier release gains what later ones need, in place.
 * SCHEMA above is the first release's tables (CREATE … IF NOT EXISTS, so it is a no-op on an
 * existing file); each step here takes `PRAGMA user_version` from its index to index + 1, and
 * `migrate` runs the missing ones in one write transaction, re-reading the version inside it, so
 * a hub and a runner opening the same old file at once do not both apply a step. Append only:
 * a released step is never edited, a new need is a new step.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: leases, cancel requests, the lost verdict, re-runs (issue 9)
  `ALTER TABLE runs ADD COLUMN lease_s INTEGER;      -- how often the writer renews (NULL: a run from before leases, never expired)
   ALTER TABLE runs ADD COLUMN heard_at INTEGER;     -- µs: the writer's last sign of life (create, lease renewal, lines)
   ALTER TABLE runs ADD COLUMN lost INTEGER NOT NULL DEFAULT 0; -- failed by lease expiry: the writer may still end it
   ALTER TABLE runs ADD COLUMN cancel_by TEXT;       -- who asked to cancel the run
   ALTER TABLE runs ADD COLUMN cancel_at INTEGER;    -- µs: when
   ALTER TABLE runs ADD COLUMN rerun_of TEXT;        -- the run this one re-runs
   CREATE INDEX IF NOT EXISTS runs_leased ON runs (status, heard_at) WHERE lease_s IS NOT NULL;
   CREATE INDEX IF NOT EXISTS runs_by_rerun_of ON runs (rerun_of) WHERE rerun_of IS NOT NULL;`,
];
