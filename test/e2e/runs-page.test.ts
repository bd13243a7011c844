/**
 * The Runs page in a real browser: what it says when a filter matches no run (it said "No runs
 * yet", as on an empty hub), and that it says when it shows only the newest runs (the 500 it loads).
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the Runs page', () => {
  const suite = useHubAndBrowser();
  const createRun = (id: string) =>
    fetch(`${suite.hub.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, command: 'seeded' }) });

  it('says a filter matches no run, not that there are none, and "no runs yet" on an empty hub', async () => {
    const empty = await suite.tab('#/runs');
    await empty.getByText('No runs yet').waitFor({ timeout: 20_000 });
    expect((await createRun('only-run')).status).toBe(201);
    const page = await suite.tab('#/runs?q=nothing-like-it');
    await page.getByText('No run matches this filter.').waitFor({ timeout: 20_000 });
    expect(await page.getByText('No runs yet').count()).toBe(0);
    const byStatus = await suite.tab('#/runs?status=queued');
    await byStatus.getByText('No run matches this filter.').waitFor({ timeout: 20_000 });
    expect(errorsOf(page)).toEqual([]);
  });

  it('says when it shows only the newest 500 runs, and how to reach the older ones', { timeout: 60_000 }, async () => {
    for (let i = 0; i < 500; i++) expect((await createRun(`many-${i}`)).status).toBe(201);
    const page = await suite.tab('#/runs');
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 20_000 }).toBe(500);
    const note = page.getByTestId('runs-capped');
    await note.waitFor({ timeout: 10_000 });
    expect(await note.textContent()).toContain('newest 500');
    // a filter that matches fewer: no note
    const few = await suite.tab('#/runs?q=many-49');
    await expect.poll(() => few.getByTestId('run-row').count(), { timeout: 20_000 }).toBe(11);
    expect(await few.getByTestId('runs-capped').count()).toBe(0);
    expect(errorsOf(page)).toEqual([]);
  });
});
