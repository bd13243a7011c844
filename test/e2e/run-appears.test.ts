/**
 * A run page opened before its run exists (the link shared when `runlog follow --run X`, a Python
 * `runlog.Handler(run_id=X)`, an OTLP exporter or a `curl …/text` upload is about to create it):
 * it said "run X not found" and stayed so until reloaded by hand. It now shows the run, and its
 * lines live, once the run is created.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('a run page opened before its run exists', () => {
  const suite = useHubAndBrowser();
  const text = (id: string, body: string) =>
    fetch(`${suite.hub.url}/api/runs/${id}/text`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });

  it('says the run is not there yet, then shows it and its lines as they come', { timeout: 60_000 }, async () => {
    const page = await suite.tab('#/runs/not-yet');
    const error = page.getByTestId('page-error');
    await error.waitFor({ timeout: 20_000 });
    expect(await error.textContent()).toContain('not found');
    expect((await text('not-yet', 'first uploaded line\n')).status).toBe(200);
    const rows = page.getByTestId('log-row');
    await rows.filter({ hasText: 'first uploaded line' }).waitFor({ timeout: 30_000 });
    expect(await error.count()).toBe(0);
    // and it is live from there
    expect((await text('not-yet', 'second uploaded line\n')).status).toBe(200);
    await rows.filter({ hasText: 'second uploaded line' }).waitFor({ timeout: 20_000 });
    expect(errorsOf(page)).toEqual([]);
  });
});
