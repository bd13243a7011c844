/**
 * Hash routes, so the hub serves one index.html for every page:
 *   #/runs?status=failed&q=train   the runs (filters in the query)
 *   #/runs/<id>                    a run and its log
 *   #/runs/<id>/L123               the same, at line 123 (seq), highlighted: the "#L123" link
 *   #/runs/<id>?q=nan&level=ERROR  the same, searched and filtered (either path)
 *   #/workers                      the workers
 *   #/logs?worker=…&level=…        the worker/system logs (filters in the query)
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'runs'; query: URLSearchParams }
  | { page: 'run'; id: string; line: number | null; query: URLSearchParams }
  | { page: 'workers'; query: URLSearchParams }
  | { page: 'logs'; query: URLSearchParams }
  | { page: 'missing'; path: string };

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter((part) => part !== '');
  const [first, second, third] = parts;
  if (first === undefined || (first === 'runs' && second === undefined)) return { page: 'runs', query };
  if (first === 'runs' && second !== undefined && parts.length <= 3) {
    const line = third === undefined ? null : /^L(\d+)$/.exec(third)?.[1];
    // lines are numbered from 1 and the hub takes seqs up to 2^53 - 1: a link to another (L0) shows the run as a plain link does
    if (line !== undefined) return { page: 'run', id: safeDecode(second), line: line === null ? null : lineNumber(line), query };
  }
  if (first === 'workers' && parts.length === 1) return { page: 'workers', query };
  if (first === 'logs' && parts.length === 1) return { page: 'logs', query };
  return { page: 'missing', path };
}

function lineNumber(digits: string): number | null {
  const line = Number(digits);
  return line >= 1 && Number.isSafeInteger(line) ? line : null;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** the hub's run ids (src/core/record.ts ID_PATTERN): the UI does not import from src/ */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const href = {
  runs: (query?: URLSearchParams) => withQuery('#/runs', query),
  run: (id: string, line?: number | null) => `#/runs/${encodeURIComponent(id)}${line == null ? '' : `/L${line}`}`,
  workers: (worker?: string) => (worker === undefined ? '#/workers' : `#/workers?worker=${encodeURIComponent(worker)}`),
  logs: (query?: URLSearchParams) => withQuery('#/logs', query),
  /**
   * A task's run, or null when the task id cannot be a run's: a worker that writes the seeds'
   * `func_worker_heartbeat_with_logs` itself names its tasks as it likes (`job?x=1`), and a link
   * to them would open a run page that says only "id: must match …".
   */
  task: (id: string): string | null => (RUN_ID.test(id) && !id.startsWith('worker:') ? href.run(id) : null),
  /**
   * A worker's line in its context: the Logs page on that worker up to the line's time (newest
   * first, so the line is at the top, older ones below). `until` is the page's datetime-local
   * value (local time); a millisecond later, so that the line's own microseconds are in.
   */
  workerLine: (worker: string, timestamp: string) => {
    const ms = Date.parse(timestamp);
    if (Number.isNaN(ms)) return href.logs(new URLSearchParams({ worker }));
    return href.logs(new URLSearchParams({ worker, until: localDateTime(ms + 1) }));
  },
};

/** `YYYY-MM-DDTHH:MM:SS.mmm` in local time: an <input type="datetime-local" step="any">'s value */
export function localDateTime(ms: number): string {
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function withQuery(path: string, query?: URLSearchParams): string {
  const text = query?.toString() ?? '';
  return text === '' ? path : `${path}?${text}`;
}

/** Replaces the current entry: for filters typed into a page, which should not pile up history. */
export function replaceHash(hash: string): void {
  if (location.hash === hash) return;
  history.replaceState(null, '', hash);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
