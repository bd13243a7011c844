/**
 * A live stream outlives the request that checked its token: it must end once that token is
 * revoked or expires (security QA: a revoked reader kept receiving every run's lines). A real hub
 * on loopback (ssePingMs 1000: helpers.ts hubOn), tokens made and revoked through its API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { hubOn, tempDir, waitFor } from './helpers.js';

const PING_MS = 1000; // hubOn's

interface OpenStream {
  text: () => string;
  /** resolves when the hub closes the stream */
  ended: Promise<void>;
  isEnded: () => boolean;
  cancel: () => Promise<void>;
}

describe('live streams and their token', () => {
  let hub: RunningHub;
  let admin: string;
  const streams: OpenStream[] = [];

  async function post(path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${hub.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    return (await response.json()) as Record<string, unknown>;
  }

  async function token(name: string, scopes: string[], expires?: string): Promise<string> {
    return (await post('/api/tokens', { name, scopes, ...(expires === undefined ? {} : { expires }) }, admin)).token as string;
  }

  /** `secret`: a token, or `cookie:` and the web UI's session cookie */
  async function open(path: string, secret: string): Promise<OpenStream> {
    const headers: Record<string, string> = secret.startsWith('cookie:') ? { cookie: secret.slice(7) } : { authorization: `Bearer ${secret}` };
    const response = await fetch(`${hub.url}${path}`, { headers });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    let done = false;
    const ended = (async () => {
      try {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          text += Buffer.from(chunk.value).toString();
        }
      } catch {
        // cancelled by the test
      }
      done = true;
    })();
    const stream = { text: () => text, ended, isEnded: () => done, cancel: () => reader.cancel() };
    streams.push(stream);
    return stream;
  }

  beforeAll(async () => {
    hub = await hubOn(tempDir('runlog-sse-auth-'));
    // the first token is made on the open loopback hub; from then on every request needs one
    admin = (await post('/api/tokens', { name: 'admin', scopes: ['admin'] })).token as string;
    await post('/api/runs', { id: 'watched', command: 'train' }, admin);
  });

  afterAll(async () => {
    for (const stream of streams) await stream.cancel().catch(() => {});
    await hub?.close();
  });

  it('ends every live stream a token opened within a ping of its revocation, with an error event saying so', async () => {
    const reader = await token('reader', ['read']);
    const opened = await Promise.all(['/api/runs/watched/logs/stream', '/api/runs/watched/logs/stream?batch=1', '/api/events', '/api/logs/stream'].map((path) => open(path, reader)));
    const control = await open('/api/events', admin);
    await new Promise((r) => setTimeout(r, PING_MS + 200)); // a ping went by: the token still holds, nothing ends
    expect(opened.some((stream) => stream.isEnded())).toBe(false);

    const response = await fetch(`${hub.url}/api/tokens/reader`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(response.status).toBe(200);
    // by the next ping (with room for a busy machine)
    await waitFor(() => opened.every((stream) => stream.isEnded()) || undefined, PING_MS + 1000, 'the streams to end within a ping');
    for (const stream of opened) {
      expect(stream.text()).toMatch(/event: error\ndata: \{"error":"TOKEN_REVOKED","message":"token \\"reader\\" was revoked"\}\n\n$/);
    }
    // the admin's stream goes on
    expect(control.isEnded()).toBe(false);
    // and the revoked token cannot open another
    expect((await fetch(`${hub.url}/api/events`, { headers: { authorization: `Bearer ${reader}` } })).status).toBe(401);
  });

  it('ends the web UI live stream of a session when it is signed out', async () => {
    const viewer = await token('viewer', ['read']);
    const signIn = await fetch(`${hub.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: hub.url }, body: JSON.stringify({ token: viewer }) });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const stream = await open('/api/events', `cookie:${cookie}`);
    await fetch(`${hub.url}/api/session`, { method: 'DELETE', headers: { cookie, origin: hub.url } });
    await waitFor(() => stream.isEnded() || undefined, PING_MS + 1000, 'the stream to end within a ping');
    expect(stream.text()).toMatch(/event: error\ndata: \{"error":"TOKEN_REVOKED","message":"the session of token \\"viewer\\" ended[^"]*"\}\n\n$/);
  });

  it('ends a live stream when its token expires', async () => {
    const brief = await token('brief', ['read'], '2s');
    const stream = await open('/api/runs/watched/logs/stream', brief);
    await waitFor(() => stream.isEnded() || undefined, 2000 + 2 * PING_MS + 1000, 'the stream to end');
    expect(stream.text()).toMatch(/event: error\ndata: \{"error":"TOKEN_EXPIRED","message":"token \\"brief\\" expired at [^"]+"\}\n\n$/);
  });
});
