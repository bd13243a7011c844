/**
 * Every JSON route reads its body the same way (src/server/json-body.ts), on a real hub over a
 * real SQLite file: `null` (or any JSON not an object) is a 400 naming `body`, where
 * `POST /api/runs` made a run of it (201); a `__proto__` key is a 400 naming where it is, not
 * "Body is not valid JSON"; `text/plain` or another type is a 415 naming application/json, not a
 * 400 about the body.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../src/core/config.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import { routeList } from '../src/server/auth/guard.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { tempDir } from './helpers.js';

/** routes with their own parsers: OTLP (JSON or protobuf bytes) and plain text / NDJSON */
const OWN_PARSERS = new Set(['/v1/logs', '/api/runs/:id/text']);

describe('JSON bodies, the same on every JSON route', () => {
  let app: FastifyInstance;
  let store: SqliteStore;
  let routes: { method: string; url: string }[];

  beforeAll(async () => {
    const dir = tempDir();
    store = new SqliteStore(join(dir, 'runlog.db'));
    app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir: dir }) });
    await app.ready();
    await app.inject({ method: 'POST', url: '/api/runs', payload: { id: 'run-1' } });
    routes = routeList(app)
      .filter((route) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) && !OWN_PARSERS.has(route.url))
      .map((route) => ({ method: route.method, url: route.url.replace(/:[A-Za-z_]+/g, 'run-1') }));
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  const send = (route: { method: string; url: string }, payload: string, type: string) =>
    app.inject({ method: route.method as 'POST', url: route.url, payload, headers: { 'content-type': type } });

  it('covers the JSON routes (a route list that came back empty would prove nothing)', () => {
    expect(routes.map((route) => `${route.method} ${route.url}`)).toEqual(
      expect.arrayContaining(['POST /api/runs', 'POST /api/runs/run-1/logs', 'POST /api/tasks', 'POST /api/workers/run-1/heartbeat', 'POST /api/runs/run-1/finish']),
    );
  });

  it.each([
    ['null', 'body', 'null', 'got null'],
    ['an array', 'body', '[{"id":"x"}]', 'got an array'],
    ['a number', 'body', '7', 'got number'],
    ['text that is not JSON', 'body', '{"id": nope}', 'not valid JSON'],
    ['an empty body', 'body', '', 'empty'],
    ['a __proto__ key', '__proto__', '{"__proto__":{"admin":true}}', '"__proto__" key is not allowed'],
    ['a nested __proto__ key', 'labels.__proto__', '{"labels":{"team":"x","__proto__":{"a":"b"}}}', '"__proto__" key is not allowed'],
    ['an escaped __proto__ key', 'labels.__proto__', '{"labels":{"\\u005f_proto__":{"a":"b"}}}', '"__proto__" key is not allowed'],
    ['one inside an array', 'records[1].attrs.__proto__', '{"records":[{"seq":1},{"attrs":{"__proto__":1}}]}', 'not allowed'],
    ['constructor.prototype', 'stats.constructor', '{"stats":{"constructor":{"prototype":{"a":1}}}}', '"constructor" key holding "prototype"'],
  ])('answers %s with a 400 naming %s, on every JSON route', async (_what, field, payload, message) => {
    for (const route of routes) {
      const answer = await send(route, payload, 'application/json');
      expect(answer.statusCode, `${route.method} ${route.url}`).toBe(400);
      expect(answer.json(), `${route.method} ${route.url}`).toMatchObject({ error: 'BAD_REQUEST', field });
      expect(answer.json().message).toContain(message);
    }
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE naming application/json for any other content type, on every JSON route', async () => {
    const types = fc.constantFrom('text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'application/x-ndjson', 'application/octet-stream', 'application/xml');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), types, async (route, type) => {
        const answer = await send(route, '{"id":"typed-run","status":"completed"}', type);
        expect(answer.statusCode, `${route.method} ${route.url} ${type}`).toBe(415);
        // runlog's own code, not Fastify's FST_ERR_CTP_INVALID_MEDIA_TYPE
        expect(answer.json()).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' });
        expect(answer.json().message).toContain('send application/json');
      }),
      { seed: 5, numRuns: 60 },
    );
    // no run was made from a body in the wrong type
    expect(await store.getRun('typed-run')).toBeUndefined();
  });

  it('answers a compressed body with a 415 naming content-encoding, not "not valid JSON" and its bytes, on every JSON route', async () => {
    const { gzipSync } = await import('node:zlib');
    const body = gzipSync('{"id":"zipped-run","status":"completed"}');
    for (const route of routes) {
      for (const encoding of ['gzip', 'br', 'deflate']) {
        const answer = await app.inject({ method: route.method as 'POST', url: route.url, payload: body, headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
        expect(answer.statusCode, `${route.method} ${route.url} ${encoding}`).toBe(415);
        expect(answer.json()).toEqual({ error: 'UNSUPPORTED_ENCODING', field: 'content-encoding', message: `content-encoding ${encoding}: a JSON body is taken uncompressed (no Content-Encoding)` });
      }
      // identity is no encoding
      const plain = await app.inject({ method: route.method as 'POST', url: route.url, payload: 'null', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' } });
      expect(plain.statusCode, `${route.method} ${route.url} identity`).toBe(400);
    }
    expect(await store.getRun('zipped-run')).toBeUndefined();
  });

  it('names a __proto__ key wherever it is put, and never takes the body', async () => {
    const key = fc.stringMatching(/^[a-z]{1,6}$/);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.array(key, { maxLength: 4 }), async (route, path) => {
        // {"a":{"b":{"__proto__":{"polluted":true}}}}, built as text: an object literal would not keep the key
        const payload = `${path.map((k) => `{"${k}":`).join('')}{"__proto__":{"polluted":true}}${'}'.repeat(path.length)}`;
        const answer = await send(route, payload, 'application/json');
        expect(answer.statusCode).toBe(400);
        expect(answer.json().field).toBe([...path, '__proto__'].join('.'));
      }),
      { seed: 7, numRuns: 60 },
    );
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it("names a __proto__ key deep in a runner's big batch (read a group of records at a time) by its place in the whole body", async () => {
    const { BatchBodyWriter } = await import('../src/core/batch-wire.js');
    const record = (seq: number) => JSON.stringify({ seq, timestamp: 1_700_000_000_000_000, level: 'INFO', message: `line ${seq} ${'x'.repeat(90)}` });
    const pieces = Array.from({ length: 3000 }, (_, i) => record(i + 1));
    pieces[2222] = pieces[2222]!.replace('{"seq"', '{"attrs":{"__proto__":{"polluted":true}},"seq"');
    const body = new BatchBodyWriter().write(pieces);
    expect(body.length).toBeGreaterThan(256 * 1024); // big enough to be read in groups
    const answer = await app.inject({ method: 'POST', url: '/api/runs/run-1/logs', payload: Buffer.from(body), headers: { 'content-type': 'application/json' } });
    expect([answer.statusCode, answer.json().field]).toEqual([400, 'records[2222].attrs.__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it("answers a body over the limit 413 under runlog's own code, PAYLOAD_TOO_LARGE, naming body (not Fastify's FST_ERR_CTP_BODY_TOO_LARGE)", async () => {
    const huge = `{"id":"big","name":"${'x'.repeat(33 * 1024 * 1024)}"}`;
    for (const url of ['/api/runs', '/api/runs/run-1/logs']) {
      const answer = await send({ method: 'POST', url }, huge, 'application/json');
      expect([answer.statusCode, answer.json().error, answer.json().field], url).toEqual([413, 'PAYLOAD_TOO_LARGE', 'body']);
    }
  });

  it('still takes what only looks like one: "__proto__" inside a string, a "constructor" key without "prototype"', async () => {
    const line = { seq: 1, timestamp: 1_700_000_000_000_000, level: 'INFO', message: '{"__proto__": 1, "constructor": {"prototype": 2}}', attrs: { constructor: 'x' } };
    const answer = await send({ method: 'POST', url: '/api/runs/run-1/logs' }, JSON.stringify({ records: [line] }), 'application/json; charset=utf-8');
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ inserted: 1, received: 1 });
    expect((await send({ method: 'POST', url: '/api/runs' }, '{"id":"plain-run"}', 'application/json')).statusCode).toBe(201);
  });
});
