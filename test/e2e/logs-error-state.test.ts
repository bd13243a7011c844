/**
 * The Logs page given a filter the hub refuses (a link with `since=yesterday`): it said the hub's
 * reason and, under it, "No line matches these filters.", as if the query had run and found
 * nothing. Now the reason alone is shown, on the worker lines as on the search across runs. An
 * until= or level= that does not parse was not even sent: dropped, and every line shown.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the Logs page with a filter the hub refuses', () => {
  const suite = useHubAndBrowser();

  // until= and level= that did not parse were dropped without a word (every line shown): now the
  // hub is asked with them as given, and says why, as for since=
  const filters = [
    ['since', 'since=yesterday'],
    ['until', 'until=yesterday'],
    ['level', 'level=loud'],
  ] as const;
  for (const [field, filter] of filters) for (const path of [`#/logs?${filter}`, `#/logs?scope=all&${filter}`]) {
    it(`says why, and not that no line matches (${path})`, async () => {
      const page = await suite.tab(path);
      const error = page.locator('.error-box');
      await error.waitFor({ timeout: 20_000 });
      expect(await error.textContent()).toContain(`${field}: expected`);
      expect(await page.getByTestId('logs-empty').count()).toBe(0);
      expect(errorsOf(page)).toEqual([]);
    });
  }
});
