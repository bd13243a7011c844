/**
 * Every request a client makes to the hub goes through this module (hubFetch, hubRequest, hubPost), which adds the token: the one
 * place that knows it. The token comes from `setHubToken` (the CLI's --token / --token-file),
 * else RUNLOG_TOKEN, else the file named by RUNLOG_TOKEN_FILE. It is never logged, printed or put
 * in a URL.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { redactUrl } from '../core/redact.js';

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

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
};

export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // the cause in words, and its code: a bare `ENOENT` left a user guessing what was wrong
    const why = code !== undefined && code in FILE_ERRORS ? `${FILE_ERRORS[code]} (${code})` : (code ?? (error as Error).message);
    throw new Error(`token file ${file}: ${why}`);
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

// keep-alive, a few sockets: a shipper sends one request after another to the same hub
const agents = { 'http:': new HttpAgent({ keepAlive: true, maxSockets: 4 }), 'https:': new HttpsAgent({ keepAlive: true, maxSockets: 4 }) };

/**
 * POST a JSON body (a string, or its bytes) to the hub with node:http on a keep-alive socket: the shipper's hot path, where
 * fetch's machinery (web streams, abort signals, undici's parser) cost more CPU than the
 * request itself (a runner at 1,000 lines/s spent ~1 CPU-s per 10 s in it). Resolves with the
 * status and the body's text, rejects on a network error or after `timeoutMs`.
 */
export function hubPost(url: string, body: string | Buffer, headers: Record<string, string>, timeoutMs: number): Promise<HubAnswer> {
  return hubRequest('POST', url, { body, headers, timeoutMs });
}

export interface HubAnswer {
  status: number;
  /** a 2xx, as fetch's Response.ok */
  ok: boolean;
  text: string;
}

export interface HubRequestOptions {
  /** a JSON body: a string, or its bytes */
  body?: string | Buffer;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** the token for this request, when not the process's (hubToken); '' for none */
  token?: string;
  signal?: AbortSignal;
}

/**
 * A request to the hub with node:http, for the processes that live beside a job (runner, worker,
 * follower): fetch would load undici and compile its WASM HTTP parser, ~40 MB of resident memory
 * for a handful of small requests (`node -e "fetch(…)"` peaks at 84 MB, node:http at 44 MB).
 * One-shot CLI commands keep fetch (hubFetch), as does the SSE client, which needs its streams.
 */
export function hubRequest(method: string, url: string, options: HubRequestOptions): Promise<HubAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:') return Promise.reject(new Error(`hub URL ${target.origin}: only http and https`));
  const { body, timeoutMs, signal } = options;
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(bodyLength(body));
  }
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const request = (secure ? httpsRequest : httpRequest)(
      target,
      { method, agent: agents[secure ? 'https:' : 'http:'], headers: hubHeaders(headers, options.token === '' ? undefined : (options.token ?? hubToken())), timeout: timeoutMs },
      (response: IncomingMessage) => {
        response.setEncoding('utf8');
        let text = '';
        response.on('data', (piece: string) => (text += piece));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          resolve({ status, ok: status >= 200 && status < 300, text });
        });
        response.on('error', reject);
      },
    );
    const abort = () => request.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', abort, { once: true });
    request.on('close', () => signal?.removeEventListener('abort', abort));
    request.on('timeout', () => request.destroy(new Error(`no answer from the hub in ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** A body's text as JSON (undefined when it is empty or not JSON). */
export function jsonOf<T>(text: string): T | undefined {
  try {
    return text === '' ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

function bodyLength(body: string | Buffer): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.length;
}

/** The hub's error message from a refused answer's body, for the user. */
export async function hubError(response: Response | HubAnswer): Promise<string> {
  const text = typeof response.text === 'string' ? response.text : await response.text().catch(() => '');
  const message = jsonOf<{ message?: string }>(text)?.message;
  if (message) return message;
  if (response.status === 401) return 'the hub needs a token (--token, RUNLOG_TOKEN or RUNLOG_TOKEN_FILE)';
  return `hub answered ${response.status}`;
}

/** The hub answered with an error status: `message` is the status and its body's text. */
export class HubRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** `400 {"error":"BAD_REQUEST","message":"name: longer than 256 characters","field":"name"}` → the message. */
export function hubMessage(raw: string): string {
  const space = raw.indexOf(' ');
  try {
    const body = JSON.parse(raw.slice(space + 1)) as { message?: string; field?: string };
    if (body.message) return body.field && !body.message.startsWith(body.field) ? `${body.field}: ${body.message}` : body.message;
  } catch {
    // not JSON: the status and text as they came
  }
  return raw;
}

/**
 * What a sender says when the hub stops or starts taking its lines (`runlog run --hub`, `runlog
 * follow`): a hub that answers 507 is up, its store is full (src/server/storage.ts); the lines are
 * kept (`kept`: where) and sent again with backoff, as for a hub that does not answer.
 */
/** Why a run waits when the hub's URL answers 404 to its create (a runlog hub always has that route). */
export function notTheHub(hub: string): string {
  return `the hub at ${redactUrl(hub)} answered 404 for POST /api/runs: is it the hub's URL? (behind a proxy at a sub-path, give the path)`;
}

export function hubStateReporter(hub: string, kept: string, warn: (message: string) => void): (reachable: boolean, reason?: string, status?: number) => void {
  const name = redactUrl(hub);
  let full = false;
  return (reachable, reason, status) => {
    if (reachable) {
      warn(reason ?? (full ? `hub ${name} stores lines again` : `hub ${name} answers again`));
      if (reason === undefined) full = false;
      return;
    }
    full = status === 507;
    // a 404 to the run's create: the URL is not the hub's ("unreachable" would send the user looking for a hub that is down)
    if (status === 404) warn(`${notTheHub(hub)}; ${kept}, tried again with backoff`);
    else if (full) warn(`hub ${name} is up but its store is full (507: ${hubMessage(reason ?? '')}); ${kept}, sent again with backoff until it has room`);
    else warn(`hub ${name} unreachable (${reason}); ${kept}`);
  };
}
