/**
 * The Store interface. Two implementations pass the same suite (store.case.ts): SQLite, the
 * embedded default, and PostgreSQL for a fleet. `(stream, seq)` is the identity of a line:
 * appending a record the store already has is a no-op, so every sender may retry freely.
 */
import type { Level, LogRecord } from '../core/record.js';

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
}

export interface RunFinish {
  status: RunStatus;
  exit_code?: number | null;
  signal?: string | null;
  error_message?: string | null;
  completed_at?: number; // µs
}

export interface RunFilter {
  status?: RunStatus;
  limit?: number;
}

export interface LogQuery {
  /** the last N matching lines (default 500) */
  tail?: number;
  /** instead of tail: the first N matching lines (paging forward with `after`) */
  limit?: number;
  /** µs: lines captured at or after */
  since?: number;
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

export interface Store {
  /** Creates the run, or updates the fields given when it exists. */
  upsertRun(run: RunUpsert): Promise<{ run: Run; created: boolean }>;
  finishRun(id: string, finish: RunFinish): Promise<Run | undefined>;
  getRun(id: string): Promise<Run | undefined>;
  listRuns(filter: RunFilter): Promise<Run[]>;
  /** Stores the records not stored yet and returns those, in seq order. */
  appendRecords(stream: string, records: readonly LogRecord[]): Promise<LogRecord[]>;
  queryLogs(stream: string, query: LogQuery): Promise<LogPage>;
  /** Lines after `afterSeq`, ascending, at most `limit`: for streaming a whole run out in pages. */
  readLogs(stream: string, afterSeq: number, limit: number): Promise<LogRecord[]>;
  close(): Promise<void>;
}

export const DEFAULT_TAIL = 500;
export const MAX_PAGE = 10_000;
