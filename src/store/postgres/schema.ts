/**
 * The PostgreSQL schema, as versioned migrations (applied in order, each once, recorded in
 * `schema_migrations`; see migrate.ts). Times of runs and chunks are µs since the epoch (BIGINT);
 * the seeds' tables keep the seeds' own types (TIMESTAMPTZ, TEXT levels, JSONB metadata).
 *
 * The seeds' contract (../../../shared/seeds/worker-heartbeat-logging.md) verbatim: `system_logs`
 * with its columns and its indexes under the seed's names, the `workers` columns the seed's
 * function writes, `func_worker_heartbeat_with_logs` and `cleanup_old_system_logs`. Everything
 * is IF NOT EXISTS / ADD COLUMN IF NOT EXISTS, so a database that already holds the seed's tables
 * (a Supabase project running the seed) is adopted as it is: its rows stay, runlog's columns are
 * added beside the seed's.
 *
 * Cross-hub live: triggers send small notices on channel `runlog` (see notify.ts for the format):
 * the lines themselves are read from the tables by the hubs that have viewers for them.
 */
import { AUTH_SCHEMA } from './auth.js';
import { LEASE_COLUMNS } from './leases.js';
import { numberedSystemLogs } from './function-seqs.js';
import { SYSTEM_LOG_SEQS, SYSTEM_LOG_SEQS_AS_OWNER, SYSTEM_LOG_SEQS_ON_TRUNCATE } from './line-seqs.js';
import { WORKER_ID_CHECK } from './worker-ids.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const RUNS = `
CREATE TABLE IF NOT EXISTS runs (
  id             TEXT PRIMARY KEY,
  ord            BIGSERIAL,          -- creation order among runs created in the same µs
  name           TEXT,
  command        TEXT,
  status         TEXT NOT NULL,
  exit_code      INTEGER,
  signal         TEXT,
  created_at     BIGINT NOT NULL,
  started_at     BIGINT,
  completed_at   BIGINT,
  error_message  TEXT,
  log_path       TEXT,
  worker_id      TEXT,
  task_id        TEXT,
  labels         TEXT NOT NULL DEFAULT '{}',
  line_count     BIGINT NOT NULL DEFAULT 0,
  spec           TEXT,               -- a task: what the worker that claims it runs (JSON)
  diagnostics    TEXT                -- collected when the run failed (JSON)
);
CREATE INDEX IF NOT EXISTS runs_queued ON runs (created_at, ord) WHERE status = 'queued' AND spec IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_worker ON runs (worker_id, status);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at, ord);
CREATE INDEX IF NOT EXISTS runs_ended ON runs (completed_at) WHERE completed_at IS NOT NULL;

-- a run's lines, many to a row: the codec's chunk (src/store/chunks) and the index the queries need
CREATE TABLE IF NOT EXISTS run_chunks (
  stream     TEXT NOT NULL,
  first_seq  BIGINT NOT NULL,
  last_seq   BIGINT NOT NULL,
  count      INTEGER NOT NULL,
  min_ts     BIGINT NOT NULL,
  max_ts     BIGINT NOT NULL,
  levels     INTEGER NOT NULL,       -- a bit per level present
  bloom      BYTEA NOT NULL,
  data       BYTEA NOT NULL,
  PRIMARY KEY (stream, first_seq)
);
CREATE INDEX IF NOT EXISTS run_chunks_last ON run_chunks (stream, last_seq) INCLUDE (first_seq);
-- the chunk is compressed already: TOAST keeps it out of line without compressing it again
ALTER TABLE run_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- An append in one round trip, when no stored chunk meets the batch's seq range (a run appending
-- at its end): under the stream's lock, the chunks and the run's line count. Answers false, storing
-- nothing, when one does: the caller then filters the batch against those chunks (chunks.ts).
CREATE OR REPLACE FUNCTION runlog_append_chunks(
  p_stream TEXT, p_low BIGINT, p_high BIGINT, p_lines BIGINT,
  p_first BIGINT[], p_last BIGINT[], p_count INTEGER[], p_min_ts BIGINT[], p_max_ts BIGINT[],
  p_levels INTEGER[], p_bloom BYTEA[], p_data BYTEA[])
RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, 7));
  IF EXISTS (SELECT 1 FROM run_chunks WHERE stream = p_stream AND last_seq >= p_low AND first_seq <= p_high) THEN
    RETURN false;
  END IF;
  INSERT INTO run_chunks (stream, first_seq, last_seq, count, min_ts, max_ts, levels, bloom, data)
  SELECT p_stream, u.* FROM unnest(p_first, p_last, p_count, p_min_ts, p_max_ts, p_levels, p_bloom, p_data) AS u;
  UPDATE runs SET line_count = line_count + p_lines WHERE id = p_stream;
  RETURN true;
END $$;
`;

/** The seed's tables, then runlog's columns beside the seed's. */
const SEED_TABLES = `
CREATE TABLE IF NOT EXISTS workers (id TEXT PRIMARY KEY);
-- the columns the seed's function writes
ALTER TABLE workers ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE workers ADD COLUMN IF NOT EXISTS last_heartbeat TIMESTAMPTZ NOT NULL DEFAULT NOW();
ALTER TABLE workers ADD COLUMN IF NOT EXISTS vram_total_mb INTEGER;
ALTER TABLE workers ADD COLUMN IF NOT EXISTS vram_used_mb INTEGER;
ALTER TABLE workers ADD COLUMN IF NOT EXISTS current_task_id TEXT;
-- runlog's
ALTER TABLE workers ADD COLUMN IF NOT EXISTS state TEXT NOT NULL DEFAULT 'idle';
ALTER TABLE workers ADD COLUMN IF NOT EXISTS gpus JSONB NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE workers ADD COLUMN IF NOT EXISTS heartbeat_interval_s REAL NOT NULL DEFAULT 20;
ALTER TABLE workers ADD COLUMN IF NOT EXISTS first_seen TIMESTAMPTZ NOT NULL DEFAULT NOW();
ALTER TABLE workers ADD COLUMN IF NOT EXISTS dropped_logs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN IF NOT EXISTS stats JSONB;

CREATE TABLE IF NOT EXISTS system_logs (
  id BIGSERIAL PRIMARY KEY,
  timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  source_type TEXT NOT NULL, -- 'worker', 'orchestrator', etc.
  source_id TEXT NOT NULL,   -- worker_id, orchestrator_id, etc.
  task_id TEXT,              -- Optional task association
  metadata JSONB DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_system_logs_timestamp ON system_logs(timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_system_logs_source ON system_logs(source_type, source_id);
CREATE INDEX IF NOT EXISTS idx_system_logs_task_id ON system_logs(task_id) WHERE task_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_system_logs_level ON system_logs(level);
-- runlog's: the sender's seq (a line resent is stored once), where the line came from
ALTER TABLE system_logs ADD COLUMN IF NOT EXISTS seq BIGINT;
ALTER TABLE system_logs ADD COLUMN IF NOT EXISTS source TEXT;
ALTER TABLE system_logs ADD COLUMN IF NOT EXISTS phase TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS system_logs_stream_seq ON system_logs (source_type, source_id, seq) WHERE seq IS NOT NULL;
`;

/**
 * The seed's functions. Ours keep the seed's signature and answer; the heartbeat also creates the
 * worker's row when it is new (the seed's only updates it), so a worker that calls the function
 * directly is known from its first beat. A database that has the seed's own version (it replaces
 * ours with CREATE OR REPLACE) still works: the trigger below registers the worker with its lines.
 */
/** The seed's function from its lines on, as the seed wrote it: the same in every version of it here. */
const SEED_FUNCTION_LINES = `  IF logs_param IS NOT NULL AND jsonb_array_length(logs_param) > 0 THEN
    INSERT INTO system_logs (timestamp, level, message, source_type, source_id, task_id, metadata)
    SELECT
      (log->>'timestamp')::TIMESTAMPTZ,
      log->>'level',
      log->>'message',
      'worker',
      worker_id_param,
      log->>'task_id',
      COALESCE(log->'metadata', '{}'::jsonb)
    FROM jsonb_array_elements(logs_param) AS log;

    GET DIAGNOSTICS logs_inserted = ROW_COUNT;
  END IF;

  RETURN jsonb_build_object(
    'success', true,
    'logs_inserted', logs_inserted
  );
END;
$$;
`;

const SEED_FUNCTIONS = `
CREATE OR REPLACE FUNCTION func_worker_heartbeat_with_logs(
  worker_id_param TEXT,
  vram_total_mb_param INT,
  vram_used_mb_param INT,
  logs_param JSONB,
  current_task_id_param TEXT
)
RETURNS JSONB
LANGUAGE plpgsql
AS $$
DECLARE
  logs_inserted INT := 0;
BEGIN
  INSERT INTO workers AS w (id, status, last_heartbeat, vram_total_mb, vram_used_mb, current_task_id, state)
  VALUES (worker_id_param, 'active', NOW(), vram_total_mb_param, vram_used_mb_param, current_task_id_param,
          CASE WHEN current_task_id_param IS NULL THEN 'idle' ELSE 'busy' END)
  ON CONFLICT (id) DO UPDATE SET
    last_heartbeat = NOW(),
    status = 'active',
    vram_total_mb = COALESCE(vram_total_mb_param, w.vram_total_mb),
    vram_used_mb = COALESCE(vram_used_mb_param, w.vram_used_mb),
    current_task_id = current_task_id_param,
    state = CASE WHEN w.state IN ('draining') THEN w.state WHEN current_task_id_param IS NULL THEN 'idle' ELSE 'busy' END;

${SEED_FUNCTION_LINES}
-- the seed's retention, as the seed wrote it; the hub deletes in bounded batches instead (retention.ts)
CREATE OR REPLACE FUNCTION cleanup_old_system_logs()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM system_logs
  WHERE timestamp < NOW() - INTERVAL '48 hours';
END;
$$;
`;

/** Notices on channel `runlog`: "<kind> <first> <last> <origin> <subject>", see notify.ts. */
const NOTICES = `
CREATE OR REPLACE FUNCTION runlog_origin() RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT COALESCE(NULLIF(current_setting('application_name', true), ''), '-')
$$;

CREATE OR REPLACE FUNCTION runlog_notice_system_logs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE lo BIGINT; hi BIGINT;
BEGIN
  SELECT min(id), max(id) INTO lo, hi FROM new_rows;
  IF lo IS NOT NULL THEN
    PERFORM pg_notify('runlog', 's ' || lo || ' ' || hi || ' ' || replace(runlog_origin(), ' ', '_') || ' -');
    -- a worker writing here directly (the seed's own function) is known to the hub by its lines
    INSERT INTO workers (id) SELECT DISTINCT source_id FROM new_rows WHERE source_type = 'worker'
    ON CONFLICT (id) DO NOTHING;
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS system_logs_notice ON system_logs;
CREATE TRIGGER system_logs_notice AFTER INSERT ON system_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runlog_notice_system_logs();

CREATE OR REPLACE FUNCTION runlog_notice_run_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r RECORD;
BEGIN
  FOR r IN SELECT stream, min(first_seq) AS lo, max(last_seq) AS hi FROM new_rows GROUP BY stream LOOP
    PERFORM pg_notify('runlog', 'c ' || r.lo || ' ' || r.hi || ' ' || replace(runlog_origin(), ' ', '_') || ' ' || r.stream);
  END LOOP;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS run_chunks_notice ON run_chunks;
CREATE TRIGGER run_chunks_notice AFTER INSERT ON run_chunks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runlog_notice_run_chunks();

CREATE OR REPLACE FUNCTION runlog_notice_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('runlog', 'r 0 0 ' || replace(runlog_origin(), ' ', '_') || ' ' || NEW.id);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS runs_notice ON runs;
CREATE TRIGGER runs_notice AFTER INSERT OR UPDATE OF status, worker_id ON runs
  FOR EACH ROW EXECUTE FUNCTION runlog_notice_run();

CREATE OR REPLACE FUNCTION runlog_notice_worker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('runlog', 'w 0 0 ' || replace(runlog_origin(), ' ', '_') || ' ' || NEW.id);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS workers_notice ON workers;
CREATE TRIGGER workers_notice AFTER INSERT OR UPDATE ON workers
  FOR EACH ROW EXECUTE FUNCTION runlog_notice_worker();
`;

/**
 * A token created, revoked or changed (by a hub or by `runlog token … --db`): every hub forgets
 * what it cached of tokens at once, instead of within its cache's 5 s (notify.ts, auth/cache.ts).
 * Not on `last_used_at`, which hubs write as tokens are used.
 */
const TOKEN_NOTICES = `
CREATE OR REPLACE FUNCTION runlog_notice_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('runlog', 't 0 0 ' || replace(runlog_origin(), ' ', '_') || ' -');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS tokens_notice ON tokens;
CREATE TRIGGER tokens_notice AFTER INSERT OR DELETE OR UPDATE OF name, hash, scopes, worker_id, expires_at ON tokens
  FOR EACH STATEMENT EXECUTE FUNCTION runlog_notice_tokens();
`;

/**
 * Adopted databases, as they are: the orchestrator's own `workers` table may hold columns runlog
 * cannot fill (NOT NULL without a default), and a worker's role may have only the rights the
 * seed's function needs (UPDATE on workers, INSERT on system_logs). So neither the function nor
 * the lines' trigger may fail for want of a row in `workers`: the function UPDATEs as the seed's
 * does, and only a worker new to the table is INSERTed, where the table and the caller's rights
 * allow it (else it has no row, as with the seed's own function, and its lines are kept all the
 * same). A worker first heard through its lines (the seed's function updates, then inserts: its
 * first call finds no row) is heard now: `last_heartbeat` NOW(), whatever default the table has.
 */
const adoptedHeartbeat = (check: string) => `CREATE OR REPLACE FUNCTION func_worker_heartbeat_with_logs(
  worker_id_param TEXT,
  vram_total_mb_param INT,
  vram_used_mb_param INT,
  logs_param JSONB,
  current_task_id_param TEXT
)
RETURNS JSONB
LANGUAGE plpgsql
AS $$
DECLARE
  logs_inserted INT := 0;
BEGIN
${check}  UPDATE workers AS w SET
    last_heartbeat = NOW(),
    status = 'active',
    vram_total_mb = COALESCE(vram_total_mb_param, w.vram_total_mb),
    vram_used_mb = COALESCE(vram_used_mb_param, w.vram_used_mb),
    current_task_id = current_task_id_param,
    state = CASE WHEN w.state IN ('draining') THEN w.state WHEN current_task_id_param IS NULL THEN 'idle' ELSE 'busy' END
  WHERE w.id = worker_id_param;
  IF NOT FOUND THEN
    BEGIN
      INSERT INTO workers (id, status, last_heartbeat, vram_total_mb, vram_used_mb, current_task_id, state)
      VALUES (worker_id_param, 'active', NOW(), vram_total_mb_param, vram_used_mb_param, current_task_id_param,
              CASE WHEN current_task_id_param IS NULL THEN 'idle' ELSE 'busy' END)
      ON CONFLICT (id) DO NOTHING;
    EXCEPTION WHEN not_null_violation OR check_violation OR foreign_key_violation OR insufficient_privilege THEN
      NULL;
    END;
  END IF;

${SEED_FUNCTION_LINES}`;

const ADOPTED_TABLES = `
${adoptedHeartbeat('')}
CREATE OR REPLACE FUNCTION runlog_notice_system_logs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE lo BIGINT; hi BIGINT;
BEGIN
  SELECT min(id), max(id) INTO lo, hi FROM new_rows;
  IF lo IS NOT NULL THEN
    PERFORM pg_notify('runlog', 's ' || lo || ' ' || hi || ' ' || replace(runlog_origin(), ' ', '_') || ' -');
    BEGIN
      INSERT INTO workers (id, last_heartbeat)
      SELECT DISTINCT n.source_id, NOW() FROM new_rows n
      WHERE n.source_type = 'worker' AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = n.source_id)
      ON CONFLICT (id) DO NOTHING;
    EXCEPTION WHEN not_null_violation OR check_violation OR foreign_key_violation OR insufficient_privilege THEN
      NULL;
    END;
  END IF;
  RETURN NULL;
END $$;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'runs and their lines in compressed chunks', sql: RUNS },
  { version: 2, name: "the seeds' workers and system_logs tables", sql: SEED_TABLES },
  { version: 3, name: "the seeds' functions: func_worker_heartbeat_with_logs, cleanup_old_system_logs", sql: SEED_FUNCTIONS },
  { version: 4, name: 'notices for the hubs on channel runlog (LISTEN/NOTIFY)', sql: NOTICES },
  { version: 5, name: 'tokens, web sessions, run writers', sql: AUTH_SCHEMA },
  {
    version: 6,
    name: 'search across runs: chunks by time',
    // newest first across every run (search.ts); one index entry per chunk of up to 1,000 lines
    sql: 'CREATE INDEX IF NOT EXISTS run_chunks_by_time ON run_chunks (max_ts, stream, first_seq);',
  },
  { version: 7, name: 'leases, cancel requests, the lost verdict, re-runs', sql: LEASE_COLUMNS },
  { version: 8, name: 'notices for the hubs when tokens change', sql: TOKEN_NOTICES },
  { version: 9, name: "adopted tables as they are: no INSERT into workers where the table or the caller's rights forbid it", sql: ADOPTED_TABLES },
  {
    version: 10,
    name: "a worker's lines in their order, by index",
    // a worker's stream is read in COALESCE(seq, id) order (the seed's function stored no seq until
    // migration 13: its row id stood in): its tail, and the last line every heartbeat on PostgreSQL numbers after,
    // were a sort of all of the worker's rows (a second per heartbeat for a worker with 1M lines)
    sql: 'CREATE INDEX IF NOT EXISTS system_logs_worker_order ON system_logs (source_type, source_id, (COALESCE(seq, id)));',
  },
  // migration 9's function, the same but for its first check: an id the API could not read is refused
  { version: 11, name: 'func_worker_heartbeat_with_logs refuses a worker id the API could not read', sql: adoptedHeartbeat(WORKER_ID_CHECK) },
  { version: 12, name: "system_log_seqs: the highest seq of a worker's deleted lines (its seq never goes back)", sql: SYSTEM_LOG_SEQS },
  // migration 11's function, taking the worker's numbering lock first; its rows and the old ones numbered per worker
  { version: 13, name: "the database numbers a worker's lines that come without a seq, after the worker's last, under the hubs' lock", sql: numberedSystemLogs(adoptedHeartbeat) },
  { version: 14, name: "system_log_seqs: kept by its owner's rights, whoever deletes (the seeds' cleanup role)", sql: SYSTEM_LOG_SEQS_AS_OWNER },
  { version: 15, name: 'system_log_seqs: kept before a TRUNCATE of system_logs too', sql: SYSTEM_LOG_SEQS_ON_TRUNCATE },
];
