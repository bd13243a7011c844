/**
 * A live stream whose session ends (the hub sends `event: error` TOKEN_REVOKED, src/server/sse.ts)
 * in a real browser: the page goes back to the sign-in and says why, and stops reconnecting. It
 * used to take the end for a dropped connection and retry into 401s for as long as it was open.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { databaseFile } from '../../src/core/config.js';
import { startHub, type RunningHub } from '../../src/server/listen.js';
import { newTokenSecret, sha256 } from '../../src/server/auth/tokens.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { tempDir } from '../helpers.js';
import { errorsOf, sleep } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

describeInBrowser('a live stream whose session ends', () => {
  const browser = useBrowser();
  let hub: RunningHub;
  const secrets = { viewer: newTokenSecret(), writer: newTokenSecret(), admin: newTokenSecret() };
  const scopes = { viewer: 'read', writer: 'write', admin: 'admin' } as const;

  beforeAll(async () => {
    const dir = tempDir('runlog-e2e-session-end-');
    const store = new SqliteStore(databaseFile(dir));
    for (const [name, secret] of Object.entries(secrets)) {
      await store.createToken({ name, hash: sha256(secret), scopes: [scopes[name as keyof typeof scopes]], worker_id: null, expires_at: null, created_by: null });
    }
    await store.close();
    // a ping a second: the hub asks at each one whether the stream's session still holds
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: dir, ssePingMs: 1000 }, { audit: () => {} });
  });
  afterAll(async () => {
    await hub?.close();
  });

  const api = (path: string, as: keyof typeof secrets, init: RequestInit = {}) =>
    fetch(`${hub.url}${path}`, { ...init, headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), authorization: `Bearer ${secrets[as]}`, 'x-runlog-writer': 'e2e-key', ...((init.headers ?? {}) as Record<string, string>) } });

  /** how many times the page has asked for the run's live stream */
  function countStreams(page: Page): () => number {
    let count = 0;
    page.on('request', (request) => {
      if (request.url().includes('/logs/stream')) count++;
    });
    return () => count;
  }

  it('shows the sign-in saying the session ended when its token is revoked, and stops reconnecting', async () => {
    expect((await api('/api/runs', 'writer', { method: 'POST', body: JSON.stringify({ id: 'watched' }) })).status).toBe(201);
    await api('/api/runs/watched/logs', 'writer', { method: 'POST', body: JSON.stringify({ records: [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: 'before the revoke' }] }) });

    const page = await browser.open(`${hub.url}/#/runs`);
    const streams = countStreams(page);
    await page.getByTestId('token-input').fill(secrets.viewer);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('who').waitFor();
    await page.goto(`${hub.url}/#/runs/watched`);
    await api('/api/runs/watched/logs', 'writer', { method: 'POST', body: JSON.stringify({ records: [{ seq: 2, timestamp: Date.now() * 1000, level: 'INFO', message: 'live after opening' }] }) });
    await expect.poll(() => page.locator('.main').innerText(), { timeout: 15_000 }).toContain('live after opening');
    // the line may come with the first page, before the stream's request is made: wait for that
    await expect.poll(() => streams(), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);

    expect((await api('/api/tokens/viewer', 'admin', { method: 'DELETE' })).status).toBe(200);
    await page.getByTestId('sign-in-notice').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('sign-in-notice').textContent()).toMatch(/session ended.*revoked/i);
    await page.getByTestId('sign-in').waitFor();

    // no retries into 401s: the count stays put (it backed off from 1 s before)
    const settled = streams();
    await sleep(4_000);
    expect(streams()).toBe(settled);
    expect(errorsOf(page)).toEqual([]);
  });
});
