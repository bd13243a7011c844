/**
 * The hub's wire shapes, as the UI reads them (docs/api.md, src/store/store.ts). Only what the UI
 * uses is typed; the hub may send more.
 */

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

export const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type Level = (typeof LEVELS)[number];

const LEVEL_ALIASES: Readonly<Record<string, Level>> = { TRACE: 'DEBUG', WARN: 'WARNING', ERR: 'ERROR', FATAL: 'CRITICAL', CRIT: 'CRITICAL', ESSENTIAL: 'INFO', SUCCESS: 'INFO', NOTICE: 'INFO' };

/**
 * A level as the hub reads one (src/core/record.ts parseLevel): any case, the common aliases
 * (warn, err, fatal) and Python's numbers (30): a URL written as `runlog grep --level warn` is.
 */
export function parseLevel(value: string): Level | null {
  const upper = value.trim().toUpperCase();
  if ((LEVELS as readonly string[]).includes(upper)) return upper as Level;
  if (/^\d{1,3}$/.test(upper)) {
    const number = Number(upper);
    return number >= 50 ? 'CRITICAL' : number >= 40 ? 'ERROR' : number >= 30 ? 'WARNING' : number >= 20 ? 'INFO' : 'DEBUG';
  }
  return LEVEL_ALIASES[upper] ?? null;
}

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
  diagnostics?: unknown;
  lease_s?: number | null;
  lost?: boolean;
  cancel_requested_by?: string | null;
  cancel_requested_at?: string | null;
  /** the run this one re-runs */
  rerun_of?: string | null;
  /** the runs that re-run this one (GET /api/runs/:id) */
  reruns?: string[];
  /** a task: it can be queued again */
  is_task?: boolean;
}

export interface LogAttrs {
  /** seq of the first line of the traceback block this line is in */
  group?: number;
  truncated?: boolean;
  progress?: boolean;
  [key: string]: unknown;
}

/** A stored line of a run (GET /api/runs/:id/logs, SSE `log`). */
export interface LogLine {
  seq: number;
  timestamp: string;
  level: Level;
  message: string;
  stream?: string;
  source?: string;
  phase?: string;
  logger?: string;
  task_id?: string;
  attrs?: LogAttrs;
}

/** SSE `progress`: the live state of a progress bar; never stored, replaced in place. */
export interface ProgressUpdate {
  stream?: string;
  timestamp: string;
  level?: Level;
  message: string;
  source?: string;
  phase?: string;
  /** the logger that wrote it (Python's record.name, sent by the SDKs) */
  logger?: string;
}

export interface LogPage {
  run_id: string;
  logs: LogLine[];
  total_lines: number;
  /** matching lines were left out (before the tail, or after the limit) */
  truncated: boolean;
}

export interface Gpu {
  index: number;
  uuid: string | null;
  name: string | null;
  utilization_gpu: number | null;
  memory_total_mb: number | null;
  memory_used_mb: number | null;
  temperature_c: number | null;
  power_draw_w: number | null;
}

export type WorkerStatus = 'active' | 'stale' | 'offline';

export interface Worker {
  id: string;
  status: WorkerStatus;
  state: 'idle' | 'busy' | 'draining' | 'offline';
  current_task_id: string | null;
  vram_total_mb: number | null;
  vram_used_mb: number | null;
  gpus: Gpu[];
  heartbeat_interval_s: number;
  dropped_logs?: number;
  stats: Record<string, unknown> | null;
  first_seen?: string;
  /** null: never heard from (a row of the seeds' own workers table): offline */
  last_heartbeat: string | null;
  last_heartbeat_age_s: number | null;
}

/** A worker's own line, in the seeds' `system_logs` shape (GET /api/logs, /api/logs/stream). */
export interface SystemLog {
  id: string;
  seq: number;
  timestamp: string;
  level: Level;
  message: string;
  source_type: string;
  source_id: string;
  task_id: string | null;
  metadata: Record<string, unknown> | null;
}
