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

-- a stream's lines in compressed chunks (src/store/chunks), disjoint seq ranges per stream;
-- (stream, seq) stays the identity of a line (src/store/sqlite/lines.ts)
CREATE TABLE IF NOT EXISTS chunks (
  stream     TEXT NOT NULL,
  first_seq  INTEGER NOT NULL,
  last_seq   INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  min_ts     INTEGER NOT NULL,
  max_ts     INTEGER NOT NULL,
  levels     INTEGER NOT NULL,  -- bit i: a line of level LEVELS[i]
  bytes      INTEGER NOT NULL,  -- length(data)
  bloom      BLOB NOT NULL,     -- trigram bloom filter of the lowercased plain text
  data       BLOB NOT NULL,
  alerts     BLOB               -- a copy of its WARNING-and-above lines when they are few (lines.ts)
);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_by_first ON chunks (stream, first_seq);
CREATE INDEX IF NOT EXISTS chunks_by_last ON chunks (stream, last_seq);
`;

