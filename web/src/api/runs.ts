/** The runs API (docs/api.md): list, one run, its lines page by page, the download. */
import { apiUrl, getJson, sendJson } from './http.ts';
import type { Level, LogPage, Run, RunStatus } from './types.ts';

const runPath = (id: string) => `api/runs/${encodeURIComponent(id)}`;

export async function listRuns(options: { status?: RunStatus | undefined; q?: string; limit?: number }, signal?: AbortSignal): Promise<Run[]> {
  const answer = await getJson<{ runs: Run[] }>('api/runs', { status: options.status, q: options.q, limit: options.limit ?? 500 }, signal);
  return answer.runs;
}

export function getRun(id: string, signal?: AbortSignal): Promise<Run> {
  return getJson<Run>(runPath(id), {}, signal);
}

/** What to keep of a run's lines: the server applies it to pages, the viewer to live lines. */
export interface LineFilter {
  /** this level and above */
  level: Level | null;
  /** case-insensitive text, ANSI ignored */
  q: string;
}

export interface LogPageQuery {
  tail?: number;
  limit?: number;
  after?: number;
  before?: number;
}

export function runLogs(id: string, page: LogPageQuery, filter: LineFilter | null, signal?: AbortSignal): Promise<LogPage> {
  return getJson<LogPage>(`${runPath(id)}/logs`, { ...page, level: filter?.level, q: filter?.q }, signal);
}

/**
 * The live stream; `after` positions it (the browser adds Last-Event-ID itself on a reconnect).
 * Batched: lines come as `logs` events, arrays, since an event per line costs the page more than
 * the line itself when thousands arrive a second.
 */
export function runStreamUrl(id: string, after: number): string {
  return apiUrl(`${runPath(id)}/logs/stream`, { after, batch: 1 });
}

export function downloadUrl(id: string): string {
  return `${runPath(id)}/logs/download`;
}

/** Asks the run to stop: a queued task is cancelled at once, a running run's writer stops it. */
export function cancelRun(id: string): Promise<Run> {
  return sendJson<Run>('POST', `${runPath(id)}/cancel`, { by: 'web UI' });
}

export function deleteRun(id: string): Promise<{ deleted: string }> {
  return sendJson('DELETE', runPath(id));
}

/** Queues the task's spec again: the new run. */
export function rerunRun(id: string): Promise<Run> {
  return sendJson<Run>('POST', `${runPath(id)}/rerun`, {});
}
