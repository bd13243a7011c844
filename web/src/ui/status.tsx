/** Status as colour and word (never colour alone: it has to read in grey too). */
import type { RunStatus, WorkerStatus } from '../api/types.ts';

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
