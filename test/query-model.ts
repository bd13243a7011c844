/**
 * What the read endpoints' query parameters mean, written out plainly (docs/api.md), for the
 * property tests in query-params.property.test.ts: a hub built in-process on a real store, a fixed
 * set of runs and worker lines, and the answer each query should get computed from them.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../src/core/config.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import type { Store } from '../src/store/store.js';

export const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
/** what a request may say for each level (docs/api.md, Levels) */
export const LEVEL_SPELLINGS: Record<string, number> = {
  debug: 0, trace: 0, INFO: 1, info: 1, Warning: 2, warn: 2, WARNING: 2, error: 3, err: 3, ERROR: 3, critical: 4, fatal: 4, crit: 4,
};
const WORDS = ['alpha', 'Beta', 'GAMMA', 'cuda OOM', '50% done', 'a_b', '\u001b[31mred\u001b[0m alert', 'ünïcode'];

/** 2026-01-01T00:00:00Z in µs: every run line is long before the test's "now" */
export const BASE_US = 1_767_225_600_000_000;

export interface ModelLine {
  stream: string;
  seq: number;
  ts: number;
  level: number;
  message: string;
  labels: Record<string, string>;
}

export function runLines(stream: string, count: number, labels: Record<string, string>, offsetUs = 0): ModelLine[] {
  const lines: ModelLine[] = [];
  for (let i = 1; i <= count; i++) {
    // seqs with gaps, timestamps shared by pairs of lines: after/before and since/until meet both
    lines.push({ stream, seq: i + Math.floor(i / 3), ts: BASE_US + offsetUs + Math.floor(i / 2) * 1_000_000, level: (i * 7) % 5, message: `line ${i} ${WORDS[i % WORDS.length]}`, labels });
  }
  return lines;
}

/** the hub's ASCII-only case folding, on the message without its colour codes */
export function matchesQ(message: string, q: string | undefined): boolean {
  if (q === undefined || q === '') return true;
  const fold = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return fold(message.replace(/\u001b\[[0-9;]*m/g, '')).includes(fold(q));
}

export function isoMicros(us: number): string {
  const seconds = new Date(Math.floor(us / 1000)).toISOString().slice(0, 19);
  return `${seconds}.${String(us % 1_000_000).padStart(6, '0')}Z`;
}

/** a time a request may carry, and the µs it means: ISO with µs, or epoch s / ms / µs */
export const timeParam = fc.tuple(fc.integer({ min: -3_000_000, max: 30_000_000 }), fc.constantFrom('iso', 's', 'ms', 'us')).map(([delta, form]) => {
  const us = form === 's' ? BASE_US + Math.floor(delta / 1_000_000) * 1_000_000 : form === 'ms' ? BASE_US + Math.floor(delta / 1000) * 1000 : BASE_US + delta;
  const text = form === 'iso' ? isoMicros(us) : form === 's' ? String(us / 1_000_000) : form === 'ms' ? String(us / 1000) : String(us);
  return { text, us };
});

/** anything at all a query parameter could hold, weighted toward the near misses */
export const anyValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('-1', '0', '1', '1.5', '1e3', ' 1', '0x10', '10001', '9007199254740991', '9007199254740992', '99999999999999999999', 'NaN', 'Infinity'),
  fc.constantFrom('30s', '10m', '2h', '7d', '30000d', '500ms', '1.5h', '-1h', '2026-02-30', '2026-01-01', '2026-01-01T00:00', '9999-12-31T23:59:59Z', '10000-01-01', '1969-12-31T23:59:59Z'),
  fc.constantFrom('debug', 'WARN', 'err', 'fatal', 'crit', 'trace', 'bogus', 'k=v', '=v', 'k', 'team=ml', 'worker:w1/1', 'r/1', 'x'.repeat(1001)),
  fc.integer({ min: -5, max: 20_000 }).map(String),
  fc.double().map(String),
);

export interface Hub {
  app: FastifyInstance;
  get(url: string): Promise<{ status: number; body: Record<string, unknown> & { error?: string; field?: string; message?: string } }>;
}

/** The app on `store`, with the runs `seeded` writes through its own API. */
export async function hubOn(store: Store, dataDir: string): Promise<Hub> {
  const app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir, ssePingMs: 60_000 }) });
  await app.ready();
  return {
    app,
    async get(url) {
      const answer = await app.inject({ method: 'GET', url });
      const body = answer.headers['content-type']?.toString().startsWith('application/json') ? answer.json() : { text: answer.body };
      return { status: answer.statusCode, body };
    },
  };
}

/** A query string of the given parameters, each encoded (a repeated one as an array). */
export function queryString(params: Record<string, string | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(key, one);
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** A 4xx that names one of the parameters sent, its message starting with the name. */
export function namesAParameter(status: number, body: { field?: string; message?: string }, sent: readonly string[]): boolean {
  return status >= 400 && status < 500 && body.field !== undefined && sent.includes(body.field) && (body.message ?? '').startsWith(`${body.field}:`);
}
