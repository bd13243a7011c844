/**
 * A request HTTP itself refuses (Node's parser, before any route) is answered in the API's error
 * shape, naming the part that was wrong: raw UTF-8 in a query (`?task_id=ü` typed by hand, a
 * client that does not percent-encode) got Fastify's `{"error":"Bad Request","message":"Client
 * Error","statusCode":400}`, which names nothing (docs/api.md#errors: every error is JSON with
 * `error`, `message` and `field`).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../src/core/config.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { tempDir } from './helpers.js';

/** Sends `head` as it is (latin1: each char one byte) and reads the answer until the hub closes. */
function raw(port: number, head: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from(head, 'latin1')));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [top = '', body = ''] = answer.split('\r\n\r\n');
      resolve({ status: Number(top.split(' ')[1]), body });
    });
  });
}

describe('a request HTTP refuses before any route', () => {
  let app: FastifyInstance;
  let store: SqliteStore;
  let port: number;
  let base: string;
  const logged: string[] = [];
  beforeAll(async () => {
    const dataDir = tempDir();
    store = new SqliteStore(join(dataDir, 'runlog.db'));
    const config = { ...resolveHubConfig({ dataDir }), accessLog: true };
    app = buildApp({ store, live: new LiveFanout(), config }, { accessLog: (line) => logged.push(line) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('is a 400 in the API shape naming the url, the headers or the content-length', async () => {
    const utf8 = Buffer.from('ü').toString('latin1'); // the two bytes of ü, sent unencoded
    const cases: [string, string, RegExp][] = [
      [`GET /api/logs?task_id=${utf8} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 'url', /^url: not valid HTTP\/1\.1 \(Invalid char in url query\): percent-encode/],
      [`GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\u0001b\r\n\r\n`, 'headers', /^headers: not valid HTTP\/1\.1 \(Invalid header value char\)$/],
      [`POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n`, 'content-length', /^content-length: not valid HTTP\/1\.1/],
    ];
    for (const [head, field, message] of cases) {
      const answer = await raw(port, head);
      expect(answer.status, field).toBe(400);
      const body = JSON.parse(answer.body) as { error: string; field: string; message: string };
      expect(body, field).toMatchObject({ error: 'BAD_REQUEST', field });
      expect(body.message, field).toMatch(message);
    }
    // each in the access log, with nothing of what was sent
    const refused = logged.filter((line) => / - \/… 400 /.test(line));
    expect(refused).toHaveLength(cases.length);
    expect(refused.join('\n')).not.toMatch(/task_id|X-Note|ten/);
  });

  it('is a 431 naming the headers when they are past what the hub takes', async () => {
    const answer = await raw(port, `GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HEADERS_TOO_LARGE', field: 'headers' });
  });

  it('writes no answer into a live stream already under way on the connection: it closes it', async () => {
    const seen = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        answer += chunk;
        // the stream's head and first event are in: now bytes that are no request
        if (answer.includes('retry:') && !answer.includes('GARBAGE-SENT')) {
          answer += 'GARBAGE-SENT';
          socket.write('GARBAGE \u0001\r\n\r\n');
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
    });
    expect(seen).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen).not.toContain('HTTP/1.1 400');
  });

  it('still answers a request with the same text percent-encoded', async () => {
    const answer = await fetch(`${base}/api/logs?task_id=%C3%BC`);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'BAD_REQUEST', field: 'task_id' });
  });
});
