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
