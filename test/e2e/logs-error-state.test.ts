/**
 * The Logs page given a filter the hub refuses (a link with `since=yesterday`): it said the hub's
 * reason and, under it, "No line matches these filters.", as if the query had run and found
 * nothing. Now the reason alone is shown, on the worker lines as on the search across runs.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the Logs page with a filter the hub refuses', () => {
  const suite = useHubAndBrowser();

  for (const path of ['#/logs?since=yesterday', '#/logs?scope=all&since=yesterday']) {
    it(`says why, and not that no line matches (${path})`, async () => {
      const page = await suite.tab(path);
      const error = page.locator('.error-box');
      await error.waitFor({ timeout: 20_000 });
      expect(await error.textContent()).toContain('since: expected');
      expect(await page.getByTestId('logs-empty').count()).toBe(0);
      expect(errorsOf(page)).toEqual([]);
    });
  }
});
