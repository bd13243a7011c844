/**
 * Every request a client makes to the hub goes through hubFetch, which adds the token: the one
 * place that knows it. The token comes from `setHubToken` (the CLI's --token / --token-file),
 * else RUNLOG_TOKEN, else the file named by RUNLOG_TOKEN_FILE. It is never logged, printed or put
 * in a URL.
 */
import { readFileSync } from 'node:fs';

let configured: string | undefined;

/** The CLI's `--token` or `--token-file`, resolved once. */
export function setHubToken(token: string | undefined): void {
  configured = token === undefined || token === '' ? undefined : token;
}

/** The token to send, if any: set by the CLI, else RUNLOG_TOKEN, else RUNLOG_TOKEN_FILE's content. */
export function hubToken(): string | undefined {
  if (configured !== undefined) return configured;
  const fromEnv = process.env.RUNLOG_TOKEN;
  if (fromEnv) return fromEnv.trim();
  const file = process.env.RUNLOG_TOKEN_FILE;
  if (file) return readTokenFile(file);
  return undefined;
}

export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`token file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new Error(`token file ${file} is empty`);
  return token;
}

/** Headers for a request to the hub: the token (when there is one) and the caller's own. */
export function hubHeaders(extra: Record<string, string> = {}, token = hubToken()): Record<string, string> {
  return token === undefined ? extra : { ...extra, authorization: `Bearer ${token}` };
}

/** fetch with the hub's token added. */
export function hubFetch(url: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const { token, headers, ...rest } = init;
  return fetch(url, { ...rest, headers: hubHeaders((headers ?? {}) as Record<string, string>, token ?? hubToken()) });
}

/** The hub's error message from a refused answer's body, for the user. */
export async function hubError(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { message?: string };
    if (body.message) return body.message;
  } catch {
    // not JSON
  }
  if (response.status === 401) return 'the hub needs a token (--token, RUNLOG_TOKEN or RUNLOG_TOKEN_FILE)';
  return `hub answered ${response.status}`;
}
