/** Search across runs and workers' lines (GET /api/search). */
import { getJson, type Params } from './http.ts';
import type { Level, LogLine } from './types.ts';

/** A matching line and where it lives: a run (`run_id`) or a worker (`worker_id`). */
export interface SearchMatch extends LogLine {
  stream: string;
  run_id?: string;
  worker_id?: string;
}

export interface SearchQuery {
  q?: string | undefined;
  /** a level, or a URL's text that is none: the hub's 400 then says what is wrong with it */
  level?: Level | string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** `<stream>/<seq>`, with `until` its timestamp: only lines after that one (the previous page's last) */
  before?: string | undefined;
  /** `key=value` */
  label?: string | undefined;
  limit?: number;
}

/** Newest first. */
export async function searchLines(query: SearchQuery, signal?: AbortSignal): Promise<{ logs: SearchMatch[]; truncated: boolean }> {
  const params: Params = { ...query };
  return getJson<{ logs: SearchMatch[]; truncated: boolean }>('api/search', params, signal);
}
