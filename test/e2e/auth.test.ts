/**
 * Issue 8 in a real browser: a hub with tokens shows its sign-in page; a token signs in (a session
 * cookie), a live run streams over that cookie, sign-out ends it; a page served from another
 * origin on 127.0.0.1 cannot change any state with the user's cookie; the CSP holds (no violation).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { databaseFile } from '../../src/core/config.js';
import { startHub, type RunningHub } from '../../src/server/listen.js';
import { newTokenSecret, sha256 } from '../../src/server/auth/tokens.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { tempDir, waitFor } from '../helpers.js';
import { errorsOf, sleep } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

describeInBrowser('signing in to a hub with tokens', () => {
  const browser = useBrowser();
  let hub: RunningHub;
  let attacker: Server;
  let attackerUrl: string;
  const audit: string[] = [];
  const secrets = { reader: newTokenSecret(), writer: newTokenSecret(), admin: newTokenSecret() };

  beforeAll(async () => {
    const dir = tempDir('runlog-e2e-auth-');
    const store = new SqliteStore(databaseFile(dir));
    for (const [name, secret] of Object.entries(secrets)) {
      await store.createToken({ name, hash: sha256(secret), scopes: [name === 'reader' ? 'read' : name === 'writer' ? 'write' : 'admin'], worker_id: null, expires_at: null, created_by: null });
    }
    await store.close();
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: dir, ssePingMs: 1000 }, { audit: (event) => audit.push(event) });
    // a page elsewhere that tries to act on the hub with whatever cookie the browser holds
    attacker = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<!doctype html><body>
        <form id="f" method="POST" action="${hub.url}/api/tasks/victim/release" target="sink"></form>
        <iframe name="sink"></iframe>
        <script>
          fetch('${hub.url}/api/tasks', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"command":["/bin/sh","-c","id"]}' }).catch(() => {});
          // body-less: no preflight, and the hub would take it as a cleanup with the defaults
          fetch('${hub.url}/api/cleanup', { method: 'POST', mode: 'no-cors', credentials: 'include' }).catch(() => {});
          document.getElementById('f').submit();
          setTimeout(() => { document.title = 'done'; }, 800);
        </script></body>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}/`;
  });
  afterAll(async () => {
    attacker?.close();
    await hub?.close();
  });

  const api = (path: string, init: RequestInit & { as?: keyof typeof secrets } = {}) =>
    fetch(`${hub.url}${path}`, { ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets[init.as ?? 'admin']}`, ...((init.headers ?? {}) as Record<string, string>) } });

  it('signs in with a token, follows a live run over the session cookie, and signs out', async () => {
    const page = await browser.open(`${hub.url}/#/runs`);
    await page.getByTestId('sign-in').waitFor();
    await page.getByTestId('token-input').fill('rl_not_a_token');
    await page.getByTestId('sign-in-button').click();
    await expect.poll(() => page.getByTestId('sign-in-error').textContent()).toContain('unknown or revoked token');
    await page.getByTestId('token-input').fill(secrets.reader);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('who').waitFor();
    expect(await page.getByTestId('who').textContent()).toContain('reader');
    // the cookie is the page's: HttpOnly, out of the script's reach
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toBe('');

    // a run written live by a writer, watched in the page over SSE with the cookie
    const key = { 'x-runlog-writer': 'e2e-writer-key' };
    expect((await api('/api/runs', { as: 'writer', method: 'POST', headers: key, body: JSON.stringify({ id: 'live-auth', name: 'live with a session' }) })).status).toBe(201);
    await page.goto(`${hub.url}/#/runs/live-auth`);
    for (let seq = 1; seq <= 5; seq++) {
      await api('/api/runs/live-auth/logs', { as: 'writer', method: 'POST', headers: key, body: JSON.stringify({ records: [{ seq, timestamp: Date.now() * 1000, level: 'INFO', message: `live line ${seq}` }] }) });
      await sleep(150);
    }
    await expect.poll(() => page.locator('.main').innerText(), { timeout: 15_000 }).toContain('live line 5');
    await api('/api/runs/live-auth/finish', { as: 'writer', method: 'POST', headers: key, body: JSON.stringify({ status: 'completed', exit_code: 0 }) });
    await expect.poll(() => page.locator('.main').innerText(), { timeout: 15_000 }).toMatch(/completed/i);

    // a read token sees no buttons for actions it cannot take
    expect((await api('/api/tasks', { method: 'POST', body: JSON.stringify({ id: 'queued-for-reader', command: ['true'] }) })).status).toBe(201);
    await page.goto(`${hub.url}/#/runs/queued-for-reader`);
    await expect.poll(() => page.locator('.main').innerText(), { timeout: 15_000 }).toMatch(/queued/i);
    expect(await page.locator('[data-action]').count()).toBe(0);

    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    const after = await page.evaluate(async () => (await fetch('api/runs')).status);
    expect(after).toBe(401);
    expect(errorsOf(page).filter((error) => /Content Security Policy/i.test(error))).toEqual([]);
  });

  it('lets no page from another origin change state with the signed-in user’s cookie', async () => {
    const page = await browser.open(`${hub.url}/#/runs`);
    await page.getByTestId('token-input').fill(secrets.admin);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('who').waitFor();
    expect((await api('/api/tasks', { method: 'POST', body: JSON.stringify({ id: 'victim', command: ['true'] }) })).status).toBe(201);
    const before = (await (await api('/api/runs')).json()) as { runs: unknown[] };

    // the same browser context (the cookie is there) visits the other origin
    const evil = await page.context().newPage();
    await evil.goto(attackerUrl);
    await waitFor(async () => (await evil.title()) === 'done', 10_000, 'the attacking page to run');
    await sleep(300);

    const runs = (await (await api('/api/runs')).json()) as { runs: { id: string; status: string }[] };
    expect(runs.runs.length).toBe(before.runs.length);
    expect(runs.runs.find((run) => run.id === 'victim')?.status).toBe('queued');
    expect(audit).not.toContain('cleanup');
    // the admin's own page shows the action the reader's did not, and it still acts
    await page.goto(`${hub.url}/#/runs/victim`);
    await page.locator('[data-action="cancel"]').waitFor({ timeout: 15_000 });
    const own = await page.evaluate(async () => (await fetch('api/session')).json());
    expect(own).toMatchObject({ signed_in: true, name: 'admin' });
  });
});
