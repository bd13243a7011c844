/**
 * A #L link to a line the run does not have. Past the end (L999 of an 18-line run) the footer
 * said "999 in run": the window took the asked line for its end when no line came from there on.
 * L0 asked the hub for the lines after -1 and showed its 400 under the lines.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('a line link out of the run', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: object) =>
    fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('counts the run\'s own lines, and shows no error, for a line past its end or line 0', { timeout: 60_000 }, async () => {
    expect((await post('/api/runs', { id: 'short' })).status).toBe(201);
    const at = Date.now() * 1000;
    const records = Array.from({ length: 18 }, (_, i) => ({ seq: i + 1, timestamp: at + i, level: 'INFO', message: `line ${i + 1}` }));
    expect((await post('/api/runs/short/logs', { records })).status).toBe(200);
    expect((await post('/api/runs/short/finish', { status: 'completed', exit_code: 0 })).status).toBe(200);

    for (const link of ['#/runs/short/L999', '#/runs/short/L0']) {
      const page = await suite.tab(link);
      await page.getByTestId('run-end').waitFor({ timeout: 20_000 });
      await expect.poll(() => page.getByTestId('log-row').count(), { timeout: 20_000 }).toBe(18);
      await expect.poll(() => page.getByTestId('log-status').textContent(), { timeout: 10_000 }).toContain('18 in view · 18 in run');
      expect(await page.locator('.main').innerText()).not.toMatch(/expected an integer/);
      expect(errorsOf(page)).toEqual([]);
    }
  });
});
