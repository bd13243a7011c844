/** Workers and their own lines (`system_logs`). */
import { apiUrl, getJson, type Params } from './http.ts';
import type { Level, SystemLog, Worker } from './types.ts';

export async function listWorkers(signal?: AbortSignal): Promise<Worker[]> {
  return (await getJson<{ workers: Worker[] }>('api/workers', {}, signal)).workers;
}

export function getWorker(id: string, signal?: AbortSignal): Promise<Worker> {
  return getJson<Worker>(`api/workers/${encodeURIComponent(id)}`, {}, signal);
}

export interface SystemLogQuery {
  source_type?: string | undefined;
  source_id?: string | undefined;
  task_id?: string | undefined;
  /** a level, or a URL's text that is none: the hub's 400 then says what is wrong with it */
  level?: Level | string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  q?: string | undefined;
  limit?: number;
  /** a row's id: the rows after it (the next page) */
  before?: string | undefined;
}

/** Newest first. */
export async function systemLogs(query: SystemLogQuery, signal?: AbortSignal): Promise<SystemLog[]> {
  const params: Params = { ...query };
  return (await getJson<{ logs: SystemLog[] }>('api/logs', params, signal)).logs;
}

/** `level`: that level and above (the hub leaves the others out, the backlog's too) */
export function systemLogStreamUrl(sourceId: string | undefined, level?: Level): string {
  return apiUrl('api/logs/stream', { source_id: sourceId, level });
}
