/**
 * The Workers page with no worker says how to start one: a command that works as it is copied.
 * It said `runlog worker --hub http://this-hub:7070`: a placeholder host, a port the hub may not
 * use, no base path, and no --id, which the command requires (it exits 2 without one).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../../src/server/listen.js';
import { tempDir } from '../helpers.js';
import { errorsOf } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

describeInBrowser('the Workers and Runs pages of a hub with nothing yet', () => {
  const browser = useBrowser();
  let plain: RunningHub;
  let underPath: RunningHub;
  beforeAll(async () => {
    plain = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
    underPath = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), basePath: '/runlog' }, { audit: () => {} });
  });
  afterAll(async () => {
    await plain?.close();
    await underPath?.close();
  });

  it('gives the command to start a worker on this hub, base path included', async () => {
    for (const hub of [plain, underPath]) {
      const page = await browser.open(`${hub.url}/#/workers`);
      const empty = page.getByTestId('workers-empty');
      await empty.waitFor({ timeout: 15_000 });
      const url = hub.url.replace(/\/+$/, '');
      expect(await empty.locator('code').textContent()).toBe(`runlog worker --id NAME --hub ${url}`);
      expect(errorsOf(page)).toEqual([]);
    }
    expect(underPath.url).toMatch(/\/runlog$/);
  });

  it('gives the command to run a job on this hub on the empty Runs page, base path included (it left out --hub)', async () => {
    for (const hub of [plain, underPath]) {
      const page = await browser.open(`${hub.url}/#/runs`);
      const empty = page.getByTestId('runs-empty');
      await empty.waitFor({ timeout: 15_000 });
      expect(await empty.locator('code').textContent()).toBe(`runlog run --hub ${hub.url.replace(/\/+$/, '')} -- python train.py`);
      expect(errorsOf(page)).toEqual([]);
    }
  });
});
