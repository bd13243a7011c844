/**
 * A worker that stops beating while the workers page is open: its card goes stale then offline
 * (ages grow on the page), and so do the page's counts and order. The counts kept the status the
 * hub last sent ("2 active · 0 stale · 0 offline" beside a card saying offline): a dead worker
 * sends nothing that would change it.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

describeInBrowser('a worker going silent on the workers page', () => {
  const suite = useHubAndBrowser();

  it('counts it stale, then offline, and lists it after the live ones', async () => {
    // "a-silent" sorts first by name: only its status can put it after "b-alive"
    await postToHub(suite.hub, '/api/workers/a-silent/heartbeat', { status: 'idle', heartbeat_interval_s: 1 });
    const beat = () => postToHub(suite.hub, '/api/workers/b-alive/heartbeat', { status: 'idle', heartbeat_interval_s: 60 });
    await beat();
    const page = await suite.tab('#/workers');
    const summary = page.locator('.page-head .muted.small');
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toMatch(/^\d active/);
    // past 5 missed beats of 1 s: offline on the card, in the counts, last in the list
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toBe('1 active · 0 stale · 1 offline');
    expect(await page.locator('article.card h2').allTextContents()).toEqual(['b-alive', 'a-silent']);
    expect(errorsOf(page)).toEqual([]);
  });
});
