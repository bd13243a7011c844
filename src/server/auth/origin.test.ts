/**
 * The Origin check is on the hub's whole origin, port included. A page on another port of the hub's
 * machine (a notebook, TensorBoard, a job's own web server) is the same *site*, so the browser sends
 * it the SameSite=Strict session cookie; the check compared host names only, so such a page could
 * cancel runs, re-run tasks, run cleanup and append lines (a text/plain form POST) as the user.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../../core/config.js';
import { LiveFanout } from '../../pipeline/live.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import { buildApp } from '../app.js';
import { newTokenSecret, sha256 } from './tokens.js';

const HUB = 'http://10.1.2.3:7070';
const HOST = '10.1.2.3:7070';

describe('the Origin of a state-changing request', () => {
  let app: FastifyInstance;
  let store: SqliteStore;
  let cookie: string;

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    const secret = newTokenSecret();
    await store.createToken({ name: 'admin', hash: sha256(secret), scopes: ['admin'], worker_id: null, expires_at: null, created_by: null });
    const config = resolveHubConfig({ host: '10.1.2.3', port: 7070, publicUrls: ['https://runlog.example.com'] });
    app = buildApp({ store, live: new LiveFanout(), config });
    const signIn = await app.inject({ method: 'POST', url: '/api/session', headers: { host: HOST, origin: HUB }, payload: { token: secret } });
    expect(signIn.statusCode).toBe(200);
    cookie = /runlog_session=[^;]+/.exec(String(signIn.headers['set-cookie']))?.[0] ?? '';
    expect(cookie).not.toBe('');
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });

  const postText = (origin: string, host = HOST) =>
    app.inject({ method: 'POST', url: '/api/runs/csrf/text', headers: { host, origin, cookie, 'content-type': 'text/plain' }, payload: 'a line\n' });

  it('refuses a page on another port of the hub’s own host, and keeps nothing it sent', async () => {
    const text = await postText('http://10.1.2.3:8888');
    expect(text.statusCode).toBe(403);
    expect(text.json().error).toBe('CROSS_ORIGIN');
    expect((await app.inject({ url: '/api/runs/csrf', headers: { host: HOST, cookie } })).statusCode).toBe(404);
    for (const url of ['/api/cleanup', '/api/runs/csrf/cancel']) {
      const empty = await app.inject({ method: 'POST', url, headers: { host: HOST, origin: 'http://10.1.2.3:8888', cookie } });
      expect(empty.statusCode).toBe(403);
    }
  });

  it('takes the hub’s own origin, and its --public-url’s exactly (scheme and port too)', async () => {
    expect((await postText(HUB)).statusCode).toBe(200);
    // behind the TLS proxy of --public-url, the Host may be the hub's own address
    expect((await postText('https://runlog.example.com', '127.0.0.1:7070')).statusCode).toBe(200);
    expect((await postText('https://runlog.example.com:8443', '127.0.0.1:7070')).statusCode).toBe(403);
    expect((await postText('http://runlog.example.com', '127.0.0.1:7070')).statusCode).toBe(403);
    expect((await postText('http://evil.example')).statusCode).toBe(403);
  });
});
