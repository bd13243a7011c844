/**
 * A run page that has no line to show says why. An ended run's end row counted as a row, so a level
 * filter matching none of its lines left a blank box (and "no lines loaded" in the footer) that
 * read as still loading; a run that ended without a line said "no lines yet".
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

describeInBrowser('an empty log view', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: object) => postToHub(suite.hub, path, body);

  it('says "no matching lines" for a filter that matches nothing in an ended run, "no lines" for an ended run without any', async () => {
    await post('/api/runs', { id: 'quiet-infos' });
    const at = Date.now() * 1000;
    await post('/api/runs/quiet-infos/logs', { records: Array.from({ length: 5 }, (_, i) => ({ seq: i + 1, timestamp: at + i, level: 'INFO', message: `fine ${i}` })) });
    await post('/api/runs/quiet-infos/finish', { status: 'completed', exit_code: 0 });
    const filtered = await suite.tab('#/runs/quiet-infos?level=ERROR');
    await filtered.getByTestId('run-end').waitFor({ timeout: 20_000 });
    await expect.poll(() => filtered.locator('.log-empty').textContent(), { timeout: 10_000 }).toBe('no matching lines');
    expect(await filtered.getByTestId('log-row').count()).toBe(0);

    await post('/api/runs', { id: 'silent' });
    await post('/api/runs/silent/finish', { status: 'completed', exit_code: 0 });
    const silent = await suite.tab('#/runs/silent');
    await silent.getByTestId('run-end').waitFor({ timeout: 20_000 });
    await expect.poll(() => silent.locator('.log-empty').textContent(), { timeout: 10_000 }).toBe('no lines');
    expect(errorsOf(filtered)).toEqual([]);
    expect(errorsOf(silent)).toEqual([]);
  });
});
