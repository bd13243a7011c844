/**
 * The Store interface. Two implementations pass the same suite (store.case.ts): SQLite, the
 * embedded default, and PostgreSQL for a fleet. `(stream, seq)` is the identity of a line:
 * appending a record the store already has is a no-op, so every sender may retry freely.
 */
import type { Level, LogRecord } from '../core/record.js';
import type { LiveFanout } from '../pipeline/live.js';
import type { Scope } from '../core/scopes.js';
import type { SearchCursor } from './search-order.js';

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

export interface Run {
  id: string;
  name: string | null;
  command: string | null;
  status: RunStatus;
  exit_code: number | null;
  signal: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  error_message: string | null;
  log_path: string | null;
  worker_id: string | null;
  task_id: string | null;
  labels: Record<string, string>;
  line_count: number;
  /** what was collected when the run failed (GPU, system, containers, commands) */
  diagnostics?: unknown;
  /** s: how often its writer renews the lease; null for a run from before leases (never expired) */
  lease_s: number | null;
  /** the writer's last sign of life (creation, claim, lease renewal, lines) */
  last_heard_at: string | null;
  /** failed by the hub because its writer went silent: the writer may still deliver its lines and real end */
  lost: boolean;
  cancel_requested_by: string | null;
  cancel_requested_at: string | null;
  /** the run this one re-runs */
  rerun_of: string | null;
  /** a task (queued with a spec): it can be re-run */
  is_task: boolean;
  /** the runs that re-run this one (only on GET /api/runs/:id) */
  reruns?: string[];
}

/** What a queued run (a task) is to execute: the worker that claims it runs exactly this. */
export interface TaskSpec {
  command: string[];
  setup: string[];
  env: Record<string, string>;
  cwd: string | null;
}

/** A claimed task: its run, its spec, and the last seq already stored (a retried run numbers on). */
export interface ClaimedTask {
  run: Run;
  spec: TaskSpec;
  last_seq: number;
  /** the key this claim writes the run with (X-Runlog-Writer); set by the hub, not the store */
  writer_key?: string;
}

export const WORKER_STATES = ['idle', 'busy', 'draining', 'offline'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];
export type WorkerStatus = 'active' | 'stale' | 'offline';

/** What a worker says of itself in each heartbeat. */
interface WorkerReport {
  id: string;
  state: WorkerState;
  current_task_id: string | null;
  vram_total_mb: number | null;
  vram_used_mb: number | null;
  gpus: unknown[];
  heartbeat_interval_s: number;
  /** lines the worker had to drop (spool over its bound), reported when it is back */
  dropped_logs: number;
  stats: Record<string, unknown> | null;
}

export interface WorkerHeartbeat extends WorkerReport {
  /** µs, when the hub received it */
  received_at: number;
}

/** A worker as the hub knows it: its last report, and a status derived from the age of its last heartbeat. */
export interface Worker extends WorkerReport {
  status: WorkerStatus;
  first_seen: string;
  /** null: never heard from (a row of the seeds' own workers table with no heartbeat: offline) */
  last_heartbeat: string | null;
  last_heartbeat_age_s: number | null;
  last_seq: number;
}

/** A worker's own line, in the shape of the seeds' `system_logs` table. */
export interface SystemLog {
  id: string;
  seq: number;
  timestamp: string;
  level: Level;
  message: string;
  source_type: string;
  source_id: string;
  task_id: string | null;
  metadata: Record<string, unknown>;
}

export interface SystemLogFilter {
  source_type?: string;
  source_id?: string;
  task_id?: string;
  level?: Level;
  since?: number;
  until?: number;
  q?: string;
  limit?: number;
  /**
   * A cursor: only the lines strictly after this one in the order lines are listed in (timestamp,
   * stream, seq, each descending: search's order), the next page. A line that is not stored is a 400 naming `before`.
   */
  before?: WorkerLineRef;
}

/** A worker's line, as its id `worker:<source_id>/<seq>` names it. */
export interface WorkerLineRef {
  source_id: string;
  seq: number;
}

/** What a caller says about a run it starts; a field left out keeps its stored value. */
export interface RunUpsert {
  id: string;
  name?: string | null;
  command?: string | null;
  status?: RunStatus;
  started_at?: number; // µs
  log_path?: string | null;
  worker_id?: string | null;
  task_id?: string | null;
  labels?: Record<string, string>;
  /** s: the writer renews its lease this often; set at creation, which is the first sign of life */
  lease_s?: number;
  rerun_of?: string;
}

export interface RunFinish {
  status: RunStatus;
  exit_code?: number | null;
  signal?: string | null;
  error_message?: string | null;
  completed_at?: number; // µs
  /** collected when the run failed (see agent/diagnostics.ts) */
  diagnostics?: unknown;
  /** the hub's verdict on a silent writer: marked lost, so the writer's real end may replace it */
  lost?: boolean;
  /** the writer's real end of a run marked lost: replaces the hub's verdict */
  replaceLost?: boolean;
}

export interface RunFilter {
  status?: RunStatus;
  /** text in the id, name, command, worker, task or labels (`key=value` finds a label), any case */
  q?: string;
  /** only runs with every one of these labels */
  labels?: Record<string, string>;
  limit?: number;
}

export interface LogQuery {
  /** the last N matching lines (default 500) */
  tail?: number;
  /** instead of tail: the first N matching lines (paging forward with `after`) */
  limit?: number;
  /** µs: lines captured at or after */
  since?: number;
  /** µs: lines captured at or before */
  until?: number;
  after?: number;
  before?: number;
  /** this level and above */
  level?: Level;
  /** case-insensitive text, searched without ANSI codes */
  q?: string;
}

export interface LogPage {
  records: LogRecord[];
  /** the stream's line count */
  total_lines: number;
  /** matching lines were left out */
  truncated: boolean;
}

/** Lines across every run and the workers' own lines (GET /api/search, `runlog grep`). */
export interface LineSearch {
  /** case-insensitive text, searched without ANSI codes */
  q?: string;
  /** µs: lines captured at or after */
  since?: number;
  /** µs: lines captured at or before */
  until?: number;
  /** with `until`: of the lines captured at `until`, only those after this one (search-order.ts) */
  before?: SearchCursor;
  /** this level and above */
  level?: Level;
  /** only runs with these labels (workers' lines have none, so they are left out) */
  labels?: Record<string, string>;
  /** default 100, at most MAX_PAGE */
  limit?: number;
}

export interface LineSearchPage {
  /** newest first; `stream` is the run id, or `worker:<id>` for a worker's own line */
  records: LogRecord[];
  /** more lines matched than were returned */
  truncated: boolean;
}

/** A token as the hub keeps it: never its secret, only the secret's SHA-256. */
export interface TokenRecord {
  name: string;
  /** SHA-256 (hex) of the secret */
  hash: string;
  scopes: Scope[];
  /** a `worker` token acts for this worker id only */
  worker_id: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  /** the token that created it (null: made on the local store) */
  created_by: string | null;
}

export interface NewToken {
  name: string;
  hash: string;
  scopes: Scope[];
  worker_id: string | null;
  /** µs, or null for a token that does not expire */
  expires_at: number | null;
  created_by: string | null;
}

/**
 * Who may write a run's lines and its end: the token that created it (or claimed its task) and
 * the writer key its process holds (only its hash is kept). null fields: not bound.
 */
export interface RunWriter {
  token_name: string | null;
  key_hash: string | null;
}

/** The outcome of binding a run to its writer: it was free, it is already ours, or someone else's. */
export type WriterClaim = 'claimed' | 'same' | 'other';

export interface Store {
  /** Creates the run, or updates the fields given when it exists. */
  upsertRun(run: RunUpsert): Promise<{ run: Run; created: boolean }>;
  /** Ends a run; a run already ended keeps its first end (the run is returned as it is), unless `replaceLost` and it is lost. */
  finishRun(id: string, finish: RunFinish): Promise<Run | undefined>;
  getRun(id: string): Promise<Run | undefined>;
  listRuns(filter: RunFilter): Promise<Run[]>;
  /** Stores the records not stored yet and returns those, in seq order. */
  appendRecords(stream: string, records: readonly LogRecord[]): Promise<LogRecord[]>;
  /**
   * Holds `stream`'s numbering lock across the processes sharing this database until the returned
   * release is called: a hub numbering lines itself reads the last seq and stores after it under it.
   * Absent where one process owns the database (SQLite: the hub's lock file).
   */
  lockStream?(stream: string): Promise<() => Promise<void>>;
  queryLogs(stream: string, query: LogQuery): Promise<LogPage>;
  /** Lines after `afterSeq`, ascending, at most `limit`: for streaming a whole run out in pages. */
  readLogs(stream: string, afterSeq: number, limit: number): Promise<LogRecord[]>;
  /**
   * The highest seq a stream has had (0: none), lines retention deleted included: a resuming writer,
   * or the hub numbering a worker's lines, numbers on after it and never gives a seq twice.
   */
  lastSeq(stream: string): Promise<number>;
  /** The stream's last line (by seq), without the page's line count; optional: queryLogs tail 1 without it. */
  lastRecord?(stream: string): Promise<LogRecord | undefined>;
  setDiagnostics(runId: string, diagnostics: unknown): Promise<void>;
  /** How many runs of each status (for /metrics). Optional: without it /metrics counts from listRuns, capped at MAX_PAGE. */
  countRuns?(): Promise<Record<RunStatus, number>>;
  /** Matching lines of every stream, newest first (served by the chunks' trigram blooms). */
  searchLines(filter: LineSearch): Promise<LineSearchPage>;

  /** A sign of life from the run's writer at `now` (µs): a lease renewal or lines; `leaseS` changes its lease. */
  renewLease(id: string, now: number, leaseS?: number): Promise<Run | undefined>;
  /**
   * Running runs with a lease whose writer has been silent for LEASE_MISSES × lease_s at `now`
   * (µs), counting from `heardSince` at the earliest (the hub's start: a writer cannot reach a hub that is down).
   */
  expiredLeases(now: number, heardSince: number): Promise<Run[]>;
  /** The ids of the runs that re-run `id`, oldest first. */
  rerunsOf(id: string): Promise<string[]>;
  /**
   * Asks a run to stop, as `by`: a queued run is cancelled at once (it never runs); a running one
   * gets the request, which its writer learns from its next lease renewal. The run as it is after.
   */
  requestCancel(id: string, by: string, now: number): Promise<Run | undefined>;
  /** Deletes an ended run and its lines: 'active' (refused) while it is queued or running. */
  deleteRun(id: string): Promise<'deleted' | 'active' | 'missing'>;
  /** A task's spec, or undefined for a run that is not a task. */
  getSpec(id: string): Promise<TaskSpec | undefined>;

  /** Queues a run to be claimed by a worker. */
  createTask(run: RunUpsert, spec: TaskSpec): Promise<Run>;
  /**
   * The oldest queued task, now running on `workerId` (its lease starts now); exactly one claimer
   * gets each task. Tasks whose id is in `skip` are passed over (ones this hub cannot open).
   */
  claimTask(workerId: string, leaseS?: number, skip?: readonly string[]): Promise<ClaimedTask | undefined>;
  /** Puts a claimed task back in the queue (its worker stopped without finishing it); a task asked to cancel is not put back. */
  releaseTask(runId: string): Promise<Run | undefined>;
  /** The runs still running on a worker (to fail them when the worker goes offline). */
  runningOn(workerId: string): Promise<Run[]>;

  recordHeartbeat(heartbeat: WorkerHeartbeat): Promise<void>;
  /** A sign of life that is not a heartbeat (a claim): the worker is known, and alive now. */
  touchWorker(id: string, heartbeatIntervalS: number, now: number): Promise<void>;
  /**
   * The worker's current task forgotten when it still names one of these (a run the hub ended for
   * it: the worker went offline, or its runner was lost): its last heartbeat no longer tells the truth.
   */
  clearCurrentTask(workerId: string, taskIds: readonly string[]): Promise<void>;
  getWorker(id: string, now: number): Promise<Worker | undefined>;
  listWorkers(now: number): Promise<Worker[]>;
  querySystemLogs(filter: SystemLogFilter): Promise<SystemLog[]>;

  /** Deletes the lines of streams starting with `prefix` captured before `before` (µs). */
  deleteLinesBefore(prefix: string, before: number): Promise<number>;
  /** Deletes finished runs completed before `before` (µs), with their lines. */
  deleteRunsBefore(before: number): Promise<number>;

  /** false when a token of that name exists */
  createToken(token: NewToken): Promise<boolean>;
  listTokens(): Promise<TokenRecord[]>;
  findToken(hash: string): Promise<TokenRecord | undefined>;
  /** Deletes the token and its sessions; false when there was none. */
  revokeToken(name: string): Promise<boolean>;
  touchToken(name: string, at: number): Promise<void>;
  countTokens(): Promise<number>;
  /** A web UI session (its id hashed), acting with the token's scopes until `expiresAt` (µs). */
  createSession(hash: string, tokenName: string, expiresAt: number): Promise<void>;
  /** The token behind a live session. */
  findSession(hash: string, now: number): Promise<TokenRecord | undefined>;
  deleteSession(hash: string): Promise<void>;
  /** Binds a run to its writer, atomically: exactly one of two creators gets 'claimed'. */
  claimRunWriter(runId: string, writer: RunWriter): Promise<WriterClaim>;
  /** Rebinds a run to a new writer (a task's new claim). */
  setRunWriter(runId: string, writer: RunWriter): Promise<void>;
  getRunWriter(runId: string): Promise<RunWriter | undefined>;

  /**
   * Whether another connection (another process on the same database) committed since the last
   * call; the hub's change watcher then publishes what it wrote. Optional: a store that cannot tell.
   */
  changedElsewhere?(): Promise<boolean>;
  /** A trivial query (/healthz): resolves when the store answers, throws when it is out of reach. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * Several hubs on one database: runs `task` unless another process is running the same one now
   * (then answers undefined), so housekeeping is done once, not once per hub. Absent: one hub.
   */
  exclusive?<T>(name: string, task: () => Promise<T>): Promise<T | undefined>;
  /**
   * Several hubs on one database: publishes to `live` what other processes commit, and says when
   * another process changed the tokens; returns how to stop.
   */
  followOthers?(live: LiveFanout, onError?: (message: string) => void, onTokensChanged?: () => void): Promise<() => Promise<void>>;
}

export function sameWriter(a: RunWriter, b: RunWriter): boolean {
  return a.token_name === b.token_name && a.key_hash === b.key_hash;
}

/** The stream of a worker's own lines. */
export function workerStream(workerId: string): string {
  return `worker:${workerId}`;
}

/** active while heartbeats arrive, stale after 2 missed intervals, offline after 5 or on a clean stop */
export function workerStatus(state: WorkerState, lastHeartbeat: number, intervalS: number, now: number): WorkerStatus {
  if (state === 'offline') return 'offline';
  const missed = (now - lastHeartbeat) / 1e6 / intervalS;
  if (missed > 5) return 'offline';
  if (missed > 2) return 'stale';
  return 'active';
}

export const DEFAULT_TAIL = 500;
export const MAX_PAGE = 10_000;
