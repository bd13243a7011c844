/**
 * A search matching thousands of times in each line (a job printing long repetitive lines: a
 * progress string, a hex dump, `abab…`). Every match was its own <mark>: the Logs page's 200
 * results of 64,000 characters searched for `abab` made 3.2M elements and crashed the tab, and
 * the run page took seconds per screen. Now a line marks its first 100 matches (issue 10: nothing
 * a job prints breaks the page). Likewise a line that changes colour at every character was a span
 * per change: the Logs page's 200 such results took 30 s to draw (2M elements); now a line is at
 * most 500 spans, the rest plain text. And a line the hub cut at its line limit said so on the run
 * page, not in the search results: now it does in both.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('long lines in the search results and on the run page', () => {
  const suite = useHubAndBrowser();
  const LINES = 200;
  const LINE = 'ab'.repeat(32_000);

  it('that match a search thousands of times are listed, each marking its first 100 matches', { timeout: 90_000 }, async () => {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'repetitive' })).status).toBe(201);
    const records = Array.from({ length: LINES }, (_, i) => ({ seq: i + 1, timestamp: Date.now() * 1000 + i, level: 'INFO', message: LINE }));
    expect((await post('/api/runs/repetitive/logs', { records })).status).toBe(200);

    const logs = await suite.tab('#/logs?scope=all&q=abab');
    let crashed = false;
    logs.on('crash', () => (crashed = true));
    const rows = logs.getByTestId('search-row');
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(LINES);
    expect(await rows.first().locator('mark.match').count()).toBe(100);
    expect(await rows.first().locator('.msg').textContent()).toBe(LINE);
    expect(crashed).toBe(false);
    expect(errorsOf(logs)).toEqual([]);

    const run = await suite.tab('#/runs/repetitive?q=abab');
    const runRows = run.getByTestId('log-row');
    await runRows.first().waitFor({ timeout: 30_000 });
    expect(await runRows.first().locator('mark.match').count()).toBe(100);
    expect(errorsOf(run)).toEqual([]);
  });

  it('that change colour at every character are drawn with a bounded number of elements each', { timeout: 90_000 }, async () => {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'rainbow' })).status).toBe(201);
    const rainbow = '\x1b[31mx\x1b[32my'.repeat(5_000);
    const records = Array.from({ length: LINES }, (_, i) => ({ seq: i + 1, timestamp: Date.now() * 1000 + i, level: 'INFO', message: `rainbow ${rainbow}` }));
    expect((await post('/api/runs/rainbow/logs', { records })).status).toBe(200);
    for (const [path, testId] of [['#/logs?scope=all&q=rainbow', 'search-row'], ['#/runs/rainbow', 'log-row']] as const) {
      const page = await suite.tab(path);
      const row = page.getByTestId(testId).first();
      await row.waitFor({ timeout: 60_000 });
      expect(await row.locator('.msg span').count()).toBeLessThanOrEqual(500);
      expect(await row.locator('.msg').textContent()).toBe(`rainbow ${'xy'.repeat(5_000)}`);
      // still coloured where it starts
      expect(await row.locator('.msg span').first().getAttribute('style')).toContain('--ansi-1');
      expect(errorsOf(page)).toEqual([]);
    }
  });

  it('says a line cut at the hub\'s line limit was cut, in the search results as on the run page', async () => {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'cut-line' })).status).toBe(201);
    const records = [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: `cutneedle ${'z'.repeat(100_000)}` }];
    expect((await post('/api/runs/cut-line/logs', { records })).status).toBe(200);
    for (const [path, testId] of [['#/logs?scope=all&q=cutneedle', 'search-row'], ['#/runs/cut-line', 'log-row']] as const) {
      const page = await suite.tab(path);
      const row = page.getByTestId(testId).first();
      await row.waitFor({ timeout: 20_000 });
      expect(await row.locator('.cut').textContent()).toBe(' [truncated]');
    }
  });
});
