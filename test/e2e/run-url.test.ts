/**
 * The run page's search and level filter were not in the URL: a reload lost them, and a view
 * ("this run's errors", "this run, searched for NaN") could not be linked to. They are now the
 * page's URL (#/runs/<id>?q=…&level=…), read when it opens and kept through a jump to a line.
 */
import { expect, it } from 'vitest';
import { errorsOf, hashOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the run page\'s filters in its URL', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: object) =>
    fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('keeps a search and a level across a reload, and opens a link with them', { timeout: 60_000 }, async () => {
    expect((await post('/api/runs', { id: 'url-state' })).status).toBe(201);
    const at = Date.now() * 1000;
    const messages: [string, string][] = [['INFO', 'alpha one'], ['WARNING', 'beta two'], ['ERROR', 'beta three'], ['INFO', 'beta four'], ['ERROR', 'gamma five']];
    const records = messages.map(([level, message], i) => ({ seq: i + 1, timestamp: at + i, level, message }));
    expect((await post('/api/runs/url-state/logs', { records })).status).toBe(200);
    const shown = async (page: Awaited<ReturnType<typeof suite.tab>>) => page.getByTestId('log-row').locator('.msg').allTextContents();

    const page = await suite.tab('#/runs/url-state');
    await expect.poll(() => shown(page), { timeout: 20_000 }).toHaveLength(5);
    await page.getByTestId('search-input').fill('beta');
    await page.getByTestId('search-input').press('Enter');
    await page.getByTestId('level-filter').selectOption('WARNING');
    await expect.poll(() => shown(page), { timeout: 20_000 }).toEqual(['beta two', 'beta three']);
    await expect.poll(() => hashOf(page)).toBe('#/runs/url-state?q=beta&level=WARNING');
    await page.reload();
    await expect.poll(() => shown(page), { timeout: 20_000 }).toEqual(['beta two', 'beta three']);
    expect(await page.getByTestId('search-input').inputValue()).toBe('beta');
    expect(await page.getByTestId('level-filter').inputValue()).toBe('WARNING');

    // a link with a level, as runlog grep --level takes it; a jump to an error keeps it
    const errors = await suite.tab('#/runs/url-state?level=err');
    await expect.poll(() => shown(errors), { timeout: 20_000 }).toEqual(['beta three', 'gamma five']);
    await errors.getByTestId('first-error').click();
    await expect.poll(() => hashOf(errors)).toBe('#/runs/url-state/L3?level=ERROR');
    await errors.reload();
    await expect.poll(() => shown(errors), { timeout: 20_000 }).toEqual(['beta three', 'gamma five']);
    expect(errorsOf(page)).toEqual([]);
    expect(errorsOf(errors)).toEqual([]);
  });
});
