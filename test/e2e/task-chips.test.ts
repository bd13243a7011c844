/**
 * A worker line's task id, on the Logs page and in its search across runs: a link to the task's
 * run only when the id can be a run's. A heartbeat's lines take any task id (the seeds' workers
 * name tasks as they like), and every chip was a link: `job?x=1` opened a run page that said only
 * "id: must match …".
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('task ids on worker lines', () => {
  const suite = useHubAndBrowser();

  /** each chip on the page: its text, and its href (null: not a link) */
  const chips = (page: Page) =>
    page.$$eval('.task-chip', (found) => found.map((chip) => [chip.textContent, chip.getAttribute('href')] as const).sort());

  it('links a task id that can be a run id, and shows any other as plain text', async () => {
    const answer = await fetch(`${suite.hub.url}/api/workers/seed-w/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        logs: [
          { timestamp: Date.now() / 1000, level: 'INFO', message: 'chip one', task_id: 'job?x=1&y=2' },
          { timestamp: Date.now() / 1000, level: 'INFO', message: 'chip two', task_id: 'task-7' },
        ],
      }),
    });
    expect(answer.status).toBe(200);
    const expected = [
      ['job?x=1&y=2', null],
      ['task-7', '#/runs/task-7'],
    ];
    const page = await suite.tab('#/logs');
    await page.getByText('chip two').waitFor({ timeout: 15_000 });
    expect(await chips(page)).toEqual(expected);

    // the same lines found by a search across runs and workers
    await page.evaluate(() => ((globalThis as unknown as { location: { hash: string } }).location.hash = '#/logs?scope=all&q=chip'));
    await expect.poll(() => chips(page), { timeout: 15_000 }).toEqual(expected);
    expect(errorsOf(page)).toEqual([]);
  });
});
