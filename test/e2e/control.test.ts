/** Cancel, Re-run and Delete from a run's page in a real browser (issue 9). */
import { expect, it } from 'vitest';
import type { Run } from '../../src/store/store.js';
import { getJson, waitFor } from '../helpers.js';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the run page actions', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: unknown) =>
    fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const run = async (id: string) => (await getJson<Run>(`${suite.hub.url}/api/runs/${id}`)).body;

  it('cancels a queued task with its Cancel button, re-runs it with Re-run, links both runs, and deletes one after a confirm', async () => {
    await post('/api/tasks', { id: 'ui-task', name: 'ui task', command: ['echo', 'hi'] });
    const page = await suite.tab('#/runs/ui-task');
    // not claimed yet: its time is when it was queued, not a start
    await expect.poll(async () => page.locator('.fact-label').allTextContents(), { timeout: 10_000 }).toContain('queued');
    expect(await page.locator('.fact-label').allTextContents()).not.toContain('started');
    await page.locator('[data-action="cancel"]').click();
    await expect.poll(async () => page.getByTestId('run-status').textContent(), { timeout: 10_000 }).toContain('cancelled');
    expect((await run('ui-task')).cancel_requested_by).toBe('web UI');
    expect(await page.locator('[data-action="cancel"]').count()).toBe(0);

    await page.locator('[data-action="rerun"]').click();
    await page.waitForURL(/#\/runs\/r-/, { timeout: 10_000 });
    const second = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    expect(await run(second)).toMatchObject({ rerun_of: 'ui-task', status: 'queued' });
    await page.getByTestId('rerun-of').waitFor();
    expect(await page.getByTestId('rerun-of').textContent()).toBe('ui-task');
    // queued: it can be cancelled, not deleted
    expect(await page.locator('[data-action="delete"]').count()).toBe(0);

    const first = await suite.tab('#/runs/ui-task');
    await first.getByTestId('reruns').waitFor();
    expect(await first.getByTestId('reruns').textContent()).toContain(second);
    first.once('dialog', (dialog) => void dialog.accept());
    await first.locator('[data-action="delete"]').click();
    await waitFor(async () => (await fetch(`${suite.hub.url}/api/runs/ui-task`)).status === 404 || undefined, 10_000, 'the run deleted');
    await first.waitForURL(/#\/runs$/, { timeout: 10_000 });
    expect(errorsOf(page)).toEqual([]);
  });

  it("records a cancel request on a running run's page after a confirm, for its writer to hear", async () => {
    await post('/api/runs', { id: 'ui-running', lease_s: 60 });
    const page = await suite.tab('#/runs/ui-running');
    // running: the click asks first; dismissed, nothing is asked of the run
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.locator('[data-action="cancel"]').click();
    await expect.poll(() => asked).toHaveLength(1);
    expect(asked[0]).toContain('Cancel run ui-running?');
    expect((await run('ui-running')).cancel_requested_by).toBeNull();
    expect(await page.getByTestId('cancel-requested').count()).toBe(0);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('[data-action="cancel"]').click();
    await page.getByTestId('cancel-requested').waitFor({ timeout: 10_000 });
    const lease = (await (await post('/api/runs/ui-running/lease', {})).json()) as { cancel: { by: string } | null };
    expect(lease.cancel).toMatchObject({ by: 'web UI' });
  });
});
