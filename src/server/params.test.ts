/**
 * An integer query parameter (or Last-Event-ID) out of its bounds is a 400 saying the bound:
 * `?after=-1` used to say "expected an integer", which -1 is. Also: repeated and long text parameters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../core/config.js';
import { LiveFanout } from '../pipeline/live.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { buildApp } from './app.js';

describe('integer parameters', () => {
  let dataDir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runlog-params-'));
    store = new SqliteStore(join(dataDir, 'runlog.db'));
    app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir }) });
    await app.inject({ method: 'POST', url: '/api/runs', payload: { id: 'r1' } });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const refused = async (url: string, headers: Record<string, string> = {}) => {
    const response = await app.inject({ method: 'GET', url, headers });
    expect(response.statusCode).toBe(400);
    return response.json<{ message: string; field: string }>();
  };

  it('says a negative after must be 0 or more, on every stream that takes one', async () => {
    for (const url of ['/api/logs/stream?source_id=w1&after=-1', '/api/runs/r1/logs/stream?after=-1', '/api/runs/r1/logs?after=-1']) {
      expect(await refused(url)).toEqual({ error: 'BAD_REQUEST', field: 'after', message: 'after: expected an integer ≥ 0 (at most 2^53 − 1), got "-1"' });
    }
  });

  it('says both ends of a bounded one, whether the value is too big, negative or not a number', async () => {
    for (const value of ['20000', '-5', '1.5', 'ten']) {
      expect((await refused(`/api/runs/r1/logs?tail=${value}`)).message).toBe(`tail: expected an integer from 0 to 10000, got "${value}"`);
    }
  });

  it('says the bound of Last-Event-ID', async () => {
    const answer = await refused('/api/runs/r1/logs/stream', { 'last-event-id': '-3' });
    expect(answer).toMatchObject({ field: 'Last-Event-ID', message: 'Last-Event-ID: expected an integer ≥ 0 (at most 2^53 − 1), got "-3"' });
  });

  it('says a parameter given twice is given more than once, status too (it said "expected one of …")', async () => {
    expect(await refused('/api/runs?status=failed&status=running')).toEqual({ error: 'BAD_REQUEST', field: 'status', message: 'status: given more than once' });
  });

  it('counts a text parameter\'s characters as code points: 1000 emoji are within the bound, 1001 past it', async () => {
    const ok = await app.inject({ method: 'GET', url: `/api/runs?q=${encodeURIComponent('😀'.repeat(1000))}` });
    expect(ok.statusCode).toBe(200);
    expect(await refused(`/api/runs?q=${encodeURIComponent('😀'.repeat(1001))}`)).toMatchObject({ field: 'q', message: 'q: longer than 1000 characters' });
  });
});
