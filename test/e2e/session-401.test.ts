/**
 * A session that ends while no live stream notices (the hub checks a stream's session only at its
 * pings): the next plain request is a 401, and the page goes back to the sign-in. It did so
 * without a word, as if the user had never signed in; now the sign-in says the session ended.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { databaseFile } from '../../src/core/config.js';
import { startHub, type RunningHub } from '../../src/server/listen.js';
import { newTokenSecret, sha256 } from '../../src/server/auth/tokens.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { tempDir } from '../helpers.js';
import { errorsOf } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

describeInBrowser('a session that ends between two requests', () => {
  const browser = useBrowser();
  let hub: RunningHub;
  const secrets = { viewer: newTokenSecret(), admin: newTokenSecret() };

  beforeAll(async () => {
    const dir = tempDir('runlog-e2e-session-401-');
    const store = new SqliteStore(databaseFile(dir));
    await store.createToken({ name: 'viewer', hash: sha256(secrets.viewer), scopes: ['read'], worker_id: null, expires_at: null, created_by: null });
    await store.createToken({ name: 'admin', hash: sha256(secrets.admin), scopes: ['admin'], worker_id: null, expires_at: null, created_by: null });
    await store.close();
    // pings ten minutes apart: the open stream of the runs page does not learn of the revoke
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: dir, ssePingMs: 600_000 }, { audit: () => {} });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('says the session ended when a request is refused after the token was revoked', async () => {
    const page = await browser.open(`${hub.url}/#/runs`);
    await page.getByTestId('token-input').fill(secrets.viewer);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('who').waitFor();
    await page.getByTestId('runs-table').waitFor();

    const revoked = await fetch(`${hub.url}/api/tokens/viewer`, { method: 'DELETE', headers: { authorization: `Bearer ${secrets.admin}` } });
    expect(revoked.status).toBe(200);
    // a new filter asks the hub for the runs again: a 401
    await page.getByTestId('runs-filter').fill('train');
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
    await page.getByTestId('sign-in-notice').waitFor({ timeout: 5_000 });
    expect(await page.getByTestId('sign-in-notice').textContent()).toMatch(/session ended/i);

    // signing in again clears the notice
    await page.getByTestId('token-input').fill(secrets.admin);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('who').waitFor();
    expect(await page.getByTestId('sign-in-notice').count()).toBe(0);
    expect(errorsOf(page)).toEqual([]);
  });
});
