/**
 * `/runlog` (the base path without its slash) is sent on to `/runlog/`: the query goes with it
 * (a link to the UI with `?…` used to lose it), and the redirect stays on the hub's own host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { tempDir } from './helpers.js';

describe('GET <base path> without its slash', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), basePath: '/runlog' });
  });
  afterAll(async () => {
    await hub.close();
  });

  const redirect = async (path: string) => {
    const answer = await fetch(`${new URL(hub.url).origin}${path}`, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    return new URL(answer.headers.get('location')!, `${new URL(hub.url).origin}${path}`);
  };

  it('keeps the query string in the redirect to the slash', async () => {
    const to = await redirect('/runlog?run=r-1&follow=1');
    expect(to.pathname).toBe('/runlog/');
    expect(to.search).toBe('?run=r-1&follow=1');
  });

  it('sends a bare path to the slash with no query', async () => {
    const to = await redirect('/runlog');
    expect(to.pathname + to.search).toBe('/runlog/');
  });

  it('never sends the browser to another host, whatever the query holds', async () => {
    for (const query of ['?//evil.example/x', '?/\\evil.example', '?x=%0d%0aLocation:%20//evil.example', '?ü=//evil.example']) {
      const to = await redirect(`/runlog${query}`);
      expect(to.origin).toBe(new URL(hub.url).origin);
      expect(to.pathname).toBe('/runlog/');
    }
  });

  it('redirects nothing that starts with // (no open redirect)', async () => {
    for (const path of ['//runlog', '//evil.example/runlog', '//evil.example', '/runlog//evil.example']) {
      const answer = await fetch(`${new URL(hub.url).origin}${path}`, { redirect: 'manual' });
      expect(answer.headers.get('location')).toBeNull();
    }
  });
});
