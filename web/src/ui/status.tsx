/** Status as colour and word (never colour alone: it has to read in grey too). */
import type { Run, RunStatus, WorkerStatus } from '../api/types.ts';
import { href } from '../router.ts';

export function RunStatusBadge({ status, testId }: { status: RunStatus; testId?: string }) {
  return (
    <span class={`badge status-${status}`} data-testid={testId} data-status={status}>
      <span class="dot" aria-hidden="true" />
      {status}
    </span>
  );
}

export function WorkerStatusBadge({ status }: { status: WorkerStatus }) {
  return (
    <span class={`badge worker-${status}`} data-testid="worker-status" data-status={status}>
      <span class="dot" aria-hidden="true" />
      {status}
    </span>
  );
}

/** A function as well as a component: the log viewer calls it for each row, without an instance per row. */
export function levelBadge(level: string) {
  return <span class={`lvl lvl-${level.toLowerCase()}`}>{SHORT[level] ?? level.slice(0, 4)}</span>;
}

export function LevelBadge({ level }: { level: string }) {
  return levelBadge(level);
}

const SHORT: Record<string, string> = { DEBUG: 'DBG', INFO: 'INF', WARNING: 'WRN', ERROR: 'ERR', CRITICAL: 'CRT' };

/**
 * Where a run ran: its worker (a link), or for a task no worker has (yet) what that means; a run
 * with no task ran where `runlog run` was started.
 */
export function RunWorker({ run }: { run: Run }) {
  if (run.worker_id !== null) {
    return (
      <a href={href.workers(run.worker_id)} data-testid="run-worker">
        {run.worker_id}
      </a>
    );
  }
  const text = run.task_id === null ? 'local' : run.status === 'queued' ? 'not claimed yet' : '–';
  return (
    <span class="muted" data-testid="run-worker">
      {text}
    </span>
  );
}
