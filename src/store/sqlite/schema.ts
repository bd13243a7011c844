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
  line_count     INTEGER NOT NULL DEFAULT 0
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
