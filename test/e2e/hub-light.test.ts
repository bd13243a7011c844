/**
 * The top bar's hub light beside a live page when the hub goes away and comes back. It asked
 * /healthz every 15 s only, so for up to 15 s it said "hub" (up) while the page said its stream
 * was reconnecting, and "hub down" after the page was live again; now a stream that drops or
 * opens makes it ask at once.
 */
import { afterAll, expect, it } from 'vitest';
import type { RunningHub } from '../../src/server/listen.js';
import { hubOn, tempDir } from '../helpers.js';
import { errorsOf } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

describeInBrowser('the hub light when the hub goes away', () => {
  const suite = useBrowser();
  let hub: RunningHub | undefined; // this suite's own: it stops and starts it
  afterAll(async () => {
    await hub?.close();
  });

  it('says "hub down" as soon as the page loses its stream, and "hub" as soon as the stream is back', { timeout: 60_000 }, async () => {
    const dataDir = tempDir();
    hub = await hubOn(dataDir);
    const url = hub.url;
    const port = Number(new URL(url).port);
    const page = await suite.open(`${url}/#/workers`);
    const light = page.getByTestId('hub-health');
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => light.getAttribute('class')).toContain('up');

    await hub.close();
    hub = undefined;
    // well within the 15 s of the light's own polling, which started when the page loaded
    await expect.poll(() => light.textContent(), { timeout: 8_000 }).toContain('hub down');

    hub = await hubOn(dataDir, port);
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => light.getAttribute('class'), { timeout: 5_000 }).toContain('up');
    expect(await light.textContent()).not.toContain('down');
    expect(errorsOf(page)).toEqual([]);
  });
});
