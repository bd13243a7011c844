/**
 * The other ways in on a hub with tokens: /api/runs/:id/text and /v1/logs need `write`, bind the
 * run they create to their writer and refuse a run another process writes; the access log names
 * the token.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { databaseFile, resolveHubConfig } from '../src/core/config.js';
import type { Scope } from '../src/core/scopes.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import { newTokenSecret, sha256 } from '../src/server/auth/tokens.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { tempDir, waitFor } from './helpers.js';

const TOKENS: Record<string, Scope[]> = { writer: ['write'], other: ['write'], reader: ['read'] };

describe('text and OTLP on a hub with tokens', () => {
  let app: FastifyInstance;
  let store: SqliteStore;
  let url: string;
  const secrets: Record<string, string> = {};
  const accessLog: string[] = [];

  beforeEach(async () => {
    const dir = tempDir('runlog-ingest-auth-');
    store = new SqliteStore(databaseFile(dir));
    for (const [name, scopes] of Object.entries(TOKENS)) {
      secrets[name] = newTokenSecret();
      await store.createToken({ name, hash: sha256(secrets[name]!), scopes, worker_id: null, expires_at: null, created_by: null });
    }
    const config = resolveHubConfig({ host: '127.0.0.1', port: 0, dataDir: dir, accessLog: true });
    app = buildApp({ store, live: new LiveFanout(), config }, { accessLog: (line) => accessLog.push(line) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    accessLog.length = 0;
  });

  const text = (run: string, token: string | undefined, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/api/runs/${run}/text`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...(token ? { authorization: `Bearer ${secrets[token]}` } : {}), ...headers },
      body,
    });

  it("needs a write token, binds the run it creates to that token, and keeps other writers out", async () => {
    expect((await text('t-1', undefined, 'a\n')).status).toBe(401);
    expect((await text('t-1', 'reader', 'a\n')).status).toBe(403);
    expect((await text('t-1', 'writer', 'a\n')).status).toBe(200);
    expect((await text('t-1', 'writer', 'b\n')).status).toBe(200);
    const refused = await text('t-1', 'other', 'c\n');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('NOT_THE_WRITER');
    expect((await store.queryLogs('t-1', {})).records.map((line) => line.message)).toEqual(['a', 'b']);
    // each line is written when its response closes, a moment after the client has its answer
    const lines = await waitFor(() => (accessLog.length >= 5 ? accessLog : undefined), 10_000, 'five access log lines');
    expect(lines.filter((line) => line.includes('POST /api/runs/:id/text 200'))).toHaveLength(2);
    expect(lines.find((line) => line.includes('POST /api/runs/:id/text 200'))).toMatch(/ token=writer$/);
    // refused before the route ran: logged too, with the token's name once it is known
    expect(lines.find((line) => line.includes('POST /api/runs/:id/text 401'))).toMatch(/ms$/);
    expect(lines.find((line) => line.includes('POST /api/runs/:id/text 403') && !line.includes('other'))).toMatch(/ token=reader$/);
  });

  it('needs the writer key of a run created with one', async () => {
    const created = await fetch(`${url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.writer}`, 'x-runlog-writer': 'key-1' },
      body: JSON.stringify({ id: 'keyed' }),
    });
    expect(created.status).toBe(201);
    expect((await text('keyed', 'writer', 'no key\n')).status).toBe(403);
    expect((await text('keyed', 'writer', 'with key\n', { 'x-runlog-writer': 'key-1' })).status).toBe(200);
  });

  it('takes the official exporter with its token, and rejects, as a partial success, records for a run another process writes', async () => {
    await text('taken', 'other', 'mine\n');
    const exporter = new OTLPLogExporter({ url: `${url}/v1/logs`, headers: { authorization: `Bearer ${secrets.writer}` } });
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc', 'runlog.run_id': 'otel-auth' }), processors: [new BatchLogRecordProcessor({ exporter })] });
    provider.getLogger('x').emit({ body: 'through a token' });
    await provider.forceFlush();
    await provider.shutdown();
    expect((await store.queryLogs('otel-auth', {})).records.map((line) => line.message)).toEqual(['through a token']);

    const response = await fetch(`${url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.writer}` },
      body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'runlog.run_id', value: { stringValue: 'taken' } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'not mine' } }] }] }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ partialSuccess: { rejectedLogRecords: '1', errorMessage: expect.stringContaining('written with token "other"') } });
    expect((await fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  });
});
