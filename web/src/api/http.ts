/** fetch + JSON with the hub's error shape (`{ error, message, field }`) turned into an ApiError. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Params = Record<string, string | number | boolean | null | undefined>;

/**
 * A URL relative to the page (`api/runs`, no leading slash): the hub serves the UI, so the API is
 * on the same origin and under the same path, `/` or a reverse proxy's `/runlog/` (--base-path).
 */
export function apiUrl(path: string, params: Params = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const query = search.toString();
  return query === '' ? path : `${path}?${query}`;
}

/**
 * This hub's URL as the page reached it (its base path included, no trailing slash): what a runner
 * or a worker on the same network gives to --hub. A placeholder host in a hint was copied as it was.
 */
export function thisHubUrl(): string {
  return `${location.origin}${location.pathname.replace(/\/+$/, '')}`;
}

export async function getJson<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(apiUrl(path, params), { headers: { accept: 'application/json' }, signal: signal ?? null });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'the hub does not answer');
  }
  if (response.status === 401) window.dispatchEvent(new Event('runlog:unauthorized'));
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  return (await response.json()) as T;
}

/** A change (POST, DELETE) with a JSON body; the hub's refusal becomes an ApiError with its message. */
export async function sendJson<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'the hub does not answer');
  }
  const answer = (await response.json().catch(() => ({}))) as T & { message?: unknown };
  if (!response.ok) throw new ApiError(response.status, typeof answer.message === 'string' ? answer.message : `${response.status} ${response.statusText}`);
  return answer;
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
