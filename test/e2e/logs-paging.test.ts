/**
 * The Logs page's "load more" in a real browser, for a worker whose burst of lines shares one
 * timestamp: more than a page (500) of them. It paged by `until=<oldest timestamp>`, which gave
 * the same newest 500 again: the older lines never came, and the button stayed.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the Logs page, paging back', () => {
  const suite = useHubAndBrowser();

  it("loads every older line of a worker's burst that shares one timestamp, each once", async () => {
    const logs = Array.from({ length: 1100 }, (_, i) => ({ timestamp: 1_764_000_000.5, level: 'INFO', message: `burst #${String(i + 1).padStart(4, '0')}` }));
    const beat = await fetch(`${suite.hub.url}/api/workers/burst/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logs }) });
    expect(beat.status).toBe(200);
    const page = await suite.tab('#/logs?worker=burst');
    const rows = page.getByTestId('system-log-row');
    await rows.first().waitFor({ timeout: 20_000 });
    const more = page.locator('button.gap-button');
    const height = () => page.locator('.log-sizer').evaluate((sizer) => sizer.getBoundingClientRect().height);
    // 500, then 500 more, then the last 100: the button goes once there is nothing older
    const firstPage = await height(); // 500 rows and the button's 40 px
    for (let click = 0; click < 2 && (await more.count()) > 0; click++) {
      const before = await height();
      await more.click();
      await expect.poll(height, { timeout: 10_000 }).toBeGreaterThan(before);
    }
    await expect.poll(() => more.count(), { timeout: 10_000 }).toBe(0);
    // 1,100 rows: none twice, none left out
    expect(await height()).toBe(((firstPage - 40) / 500) * 1100);
    const scroll = page.getByTestId('logs-scroll');
    await scroll.evaluate((element) => (element.scrollTop = element.scrollHeight));
    await rows.filter({ hasText: 'burst #0001' }).waitFor({ timeout: 10_000 });
    expect(await rows.last().textContent()).toContain('burst #0001');
    expect(errorsOf(page)).toEqual([]);
  });

  it('never adds an older page of the previous filters to the lines of new ones', async () => {
    const logs = Array.from({ length: 700 }, (_, i) => ({ timestamp: 1_764_000_100 + i / 1000, level: i % 2 === 0 ? 'ERROR' : 'INFO', message: `filtered #${String(i + 1).padStart(4, '0')}` }));
    const beat = await fetch(`${suite.hub.url}/api/workers/filtered/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logs }) });
    expect(beat.status).toBe(200);
    const page = await suite.tab('#/logs?worker=filtered');
    const rows = page.getByTestId('system-log-row');
    await rows.first().waitFor({ timeout: 20_000 });
    // "load more", then another level before that page arrives
    await page.route('**/api/logs?*before=*', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await route.continue().catch(() => {});
    });
    await page.locator('button.gap-button').click();
    await page.getByTestId('logs-level').selectOption('ERROR');
    await page.waitForTimeout(2000);
    // the 350 ERROR lines and nothing else: the oldest at the bottom is #0001, no INFO line (even numbers) after it
    await expect.poll(() => page.locator('.log-sizer').evaluate((sizer) => sizer.getBoundingClientRect().height)).toBe(350 * 20);
    const scroll = page.getByTestId('logs-scroll');
    await scroll.evaluate((element) => (element.scrollTop = element.scrollHeight));
    await rows.filter({ hasText: 'filtered #0001' }).waitFor({ timeout: 10_000 });
    expect(await rows.last().textContent()).toContain('filtered #0001');
    expect(await rows.filter({ hasText: /filtered #\d{3}[02468]/ }).count()).toBe(0);
    expect(errorsOf(page)).toEqual([]);
  });
});
