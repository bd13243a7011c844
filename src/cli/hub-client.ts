/**
 * The CLI's way to the hub: find one that answers, read runs and lines from it. HubReader speaks
 * the HTTP API with the same methods as the Store, so the commands work alike on a hub or on the
 * local store.
 */
import { DEFAULTS } from '../core/config.js';
import { LEVEL_RANK, microsToIso, type LogRecord, type WireRecord } from '../core/record.js';
import { parseIsoMicros } from '../core/time.js';
import type { LineSearch, LineSearchPage, LogPage, LogQuery, Run, RunFilter, Store, SystemLog, SystemLogFilter, Worker } from '../store/store.js';
import type { SearchMatch } from '../store/rows.js';
import { hubError, hubFetch, hubRequest, jsonOf } from '../sinks/hub-http.js';
import { redactUrl } from '../core/redact.js';

export type RunReader = Pick<Store, 'getRun' | 'listRuns' | 'queryLogs' | 'searchLines' | 'getWorker' | 'querySystemLogs'>;

export async function answers(hub: string, timeoutMs: number = DEFAULTS.hubProbeMs): Promise<boolean> {
  return (await probeHub(hub, timeoutMs)) === undefined;
}

/** undefined when the hub answers, else why not, for a message. */
async function probeHub(hub: string, timeoutMs: number): Promise<string | undefined> {
  const origin = hub.replace(/\/+$/, '');
  try {
    // node:http, not fetch: runners and followers ask this first, and fetch costs them ~40 MB (hubRequest)
    // without the token: /healthz is public, and a token the hub refuses must not make it look
    // absent (the command's own request then says what is wrong with the token)
    const answer = await hubRequest('GET', `${origin}/healthz`, { timeoutMs, token: '' });
    if (answer.ok || answer.status === 401 || answer.status === 403) return undefined;
    // a hub whose store is full, out of reach or slow still answers: its senders wait for room (or for
    // the database) rather than split a run between the hub and the local store
    const store = jsonOf<{ store?: string }>(answer.text)?.store;
    if (answer.status === 503 && (store === 'full' || store === 'unreachable' || store === 'slow')) return undefined;
    // a hub under --base-path answers its origin with 404s: the URL lacks the path; a URL with a
    // path has the wrong one, or one the hub does not have (`/runlog/runlog` would not help)
    if (answer.status === 404) {
      const { origin: root, pathname } = new URL(origin);
      if (pathname !== '/' && pathname !== '') return `GET /healthz is 404 there: is ${pathname} the hub's --base-path? (a hub without one is at ${root})`;
      return `GET /healthz is 404 there; a hub started with --base-path is under it (${origin}/runlog for --base-path /runlog)`;
    }
    return `GET /healthz is ${answer.status} there${store ? ` (store ${store})` : ''}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A --hub value that is not a URL (a typo, a host without http://) is a usage error, not a hub that is down. */
export function checkHubUrl(explicit: string): void {
  let url: URL | undefined;
  try {
    url = new URL(explicit);
  } catch {
    // said below
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`--hub ${JSON.stringify(explicit)}: expected an http:// or https:// URL, or none`);
  }
}

/** The hub to use: the one named (which must answer when `mustAnswer`), else the default one if it answers. */
export async function findHub(explicit: string | undefined, mustAnswer: boolean): Promise<string | undefined> {
  if (explicit === 'none') return undefined; // `--hub none`: the local store, even when a hub answers
  if (explicit !== undefined && explicit !== '') {
    checkHubUrl(explicit);
    const why = mustAnswer ? await probeHub(explicit, 3000) : undefined;
    if (why !== undefined) throw new Error(`hub ${redactUrl(explicit)} does not answer: ${why}`);
    return explicit.replace(/\/+$/, '');
  }
  return (await answers(DEFAULTS.hub)) ? DEFAULTS.hub : undefined;
}

/** A call to the hub's API: JSON in and out (the token added by hubFetch); a refusal becomes an Error with the hub's message. */
export async function hubCall<T>(hub: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await hubFetch(`${hub}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(await hubError(response));
  return { status: response.status, body: (await response.json()) as T };
}

export class HubReader implements RunReader {
  constructor(readonly hub: string) {}

  async getRun(id: string): Promise<Run | undefined> {
    return this.get<Run>(`/api/runs/${encodeURIComponent(id)}`, true);
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    const params = new URLSearchParams();
    if (filter.status) params.set('status', filter.status);
    if (filter.limit) params.set('limit', String(filter.limit));
    if (filter.q) params.set('q', filter.q);
    for (const [key, value] of Object.entries(filter.labels ?? {})) params.append('label', `${key}=${value}`);
    return ((await this.get<{ runs: Run[] }>(`/api/runs?${params}`)) as { runs: Run[] }).runs;
  }

  async queryLogs(stream: string, query: LogQuery): Promise<LogPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      // since travels as an ISO timestamp with µs (one rounded to the ms took lines before it)
      params.set(key, key === 'since' ? microsToIso(Math.ceil(value)) : String(value));
    }
    const body = (await this.get<{ logs: WireRecord[]; total_lines: number; truncated: boolean }>(
      `/api/runs/${encodeURIComponent(stream)}/logs?${params}`,
    )) as { logs: WireRecord[]; total_lines: number; truncated: boolean };
    return { records: body.logs.map(fromWire), total_lines: body.total_lines, truncated: body.truncated };
  }

  async searchLines(filter: LineSearch): Promise<LineSearchPage> {
    const params = new URLSearchParams();
    if (filter.q) params.set('q', filter.q);
    // times travel as ISO timestamps with µs, so the hub's window is the local store's to the µs
    // (lines are at whole µs: a bound of `1.5ms ago` keeps the same lines rounded inwards)
    if (filter.since !== undefined) params.set('since', microsToIso(Math.ceil(filter.since)));
    if (filter.until !== undefined) params.set('until', microsToIso(Math.floor(filter.until)));
    // a cursor names a line: `until` is its own time
    if (filter.until !== undefined && filter.before !== undefined) params.set('before', `${filter.before.stream}/${filter.before.seq}`);
    if (filter.level) params.set('level', filter.level);
    for (const [key, value] of Object.entries(filter.labels ?? {})) params.append('label', `${key}=${value}`);
    if (filter.limit) params.set('limit', String(filter.limit));
    const body = (await this.get<{ logs: SearchMatch[]; truncated: boolean }>(`/api/search?${params}`)) as { logs: SearchMatch[]; truncated: boolean };
    // a worker's line comes with its metadata beside its attrs: kept where the store keeps it
    const records = body.logs.map(({ metadata, ...match }) => {
      const record = fromWire(match);
      return metadata === undefined ? record : { ...record, attrs: { ...record.attrs, metadata } };
    });
    return { records, truncated: body.truncated };
  }

  async getWorker(id: string): Promise<Worker | undefined> {
    return this.get<Worker>(`/api/workers/${encodeURIComponent(id)}`, true);
  }

  /** GET /api/logs: a worker's own lines, newest first; times travel as ISO timestamps with µs; `before` as the line's id */
  async querySystemLogs(filter: SystemLogFilter): Promise<SystemLog[]> {
    const params = new URLSearchParams();
    const { before, ...rest } = filter;
    for (const [key, value] of Object.entries(rest)) {
      if (value === undefined) continue;
      params.set(key, key === 'since' || key === 'until' ? microsToIso(value as number) : String(value));
    }
    if (before !== undefined) params.set('before', `worker:${before.source_id}/${before.seq}`);
    return ((await this.get<{ logs: SystemLog[] }>(`/api/logs?${params}`)) as { logs: SystemLog[] }).logs;
  }

  // node:http (hubRequest): `runlog run --id` asks here first, and fetch would cost the runner ~40 MB
  private async get<T>(path: string, missingIsUndefined = false): Promise<T | undefined> {
    const answer = await hubRequest('GET', `${this.hub}${path}`, { timeoutMs: 30_000 });
    if (answer.status === 404 && missingIsUndefined) return undefined;
    if (!answer.ok) throw new Error(await hubError(answer));
    return JSON.parse(answer.text) as T;
  }
}

export function fromWire(wire: WireRecord): LogRecord {
  return { ...wire, timestamp: parseIsoMicros(wire.timestamp) ?? 0, level: wire.level in LEVEL_RANK ? wire.level : 'INFO' };
}
