/**
 * A message with line ends (a Python exception sent as one record, issue 11) is shown on as many
 * lines, wrapped or not, and the row after it starts below it.
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('a multi-line message in the run page', () => {
  const suite = useHubAndBrowser();
  const traceback = 'lookup failed\nTraceback (most recent call last):\n  File "train.py", line 9, in <module>\n    {}["missing"]\nKeyError: \'missing\'';

  async function postRun(id: string): Promise<void> {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await post('/api/runs', { id, name: 'multi-line' });
    const at = Date.now() * 1000;
    const messages = ['before', traceback, 'after'];
    await post(`/api/runs/${id}/logs`, { records: messages.map((message, i) => ({ seq: i + 1, timestamp: at + i, level: i === 1 ? 'ERROR' : 'INFO', message })) });
    await post(`/api/runs/${id}/finish`, { status: 'completed', exit_code: 0 });
  }

  /** The rows' boxes: the traceback's row is five lines tall and the next row starts below it. */
  async function expectStacked(page: Page): Promise<void> {
    const row = (seq: number) => page.locator(`[data-testid="log-row"][data-seq="${seq}"]`);
    await row(3).waitFor({ timeout: 20_000 });
    const [first, multi, after] = await Promise.all([1, 2, 3].map(async (seq) => (await row(seq).boundingBox())!));
    const message = (await row(2).locator(".msg").boundingBox())!;
    expect(message.height).toBeGreaterThanOrEqual(5 * 20 - 1);
    expect(multi!.y).toBeGreaterThanOrEqual(first!.y + first!.height - 1);
    expect(after!.y).toBeGreaterThanOrEqual(message.y + message.height - 1);
    expect(await row(2).locator('.msg').innerText()).toBe(traceback);
  }

  it('shows a message with line ends on several lines without wrapping, and with wrapping', async () => {
    await postRun('multi');
    const page = await suite.tab('#/runs/multi');
    await expectStacked(page);
    await page.getByTestId('toggle-wrap').click();
    await page.locator('.viewer.wrap').waitFor({ timeout: 10_000 });
    await expectStacked(page);
  });

  it('shows a worker line with line ends on several lines in the logs page', async () => {
    const at = Date.now() / 1000;
    await fetch(`${suite.hub.url}/api/workers/multi-w/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'idle', logs: [traceback, 'after'].map((message, i) => ({ timestamp: at + i / 1000, level: 40, message })) }),
    });
    const page = await suite.tab('#/logs?worker=multi-w');
    const rows = page.getByTestId('system-log-row');
    await rows.nth(1).waitFor({ timeout: 20_000 });
    // newest first: "after", then the traceback
    const [newest, multi] = await Promise.all([0, 1].map(async (n) => (await rows.nth(n).boundingBox())!));
    const message = (await rows.nth(1).locator('.msg').boundingBox())!;
    expect(message.height).toBeGreaterThanOrEqual(5 * 20 - 1);
    expect(multi!.y).toBeGreaterThanOrEqual(newest!.y + newest!.height - 1);
    expect(multi!.height).toBeGreaterThanOrEqual(message.height - 1);
  });
});

describeInBrowser('long lines in the Logs page', () => {
  const suite = useHubAndBrowser();
  const long = `wrapneedle ${Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ')} THE-END`;

  /** the message's box ends inside the list (nothing hidden to the right) and takes several lines */
  async function expectWrapped(page: Page, rowTestId: string, scrollTestId: string): Promise<void> {
    const row = page.getByTestId(rowTestId).filter({ hasText: 'THE-END' }).first();
    await row.waitFor({ timeout: 20_000 });
    const box = (await page.getByTestId(scrollTestId).boundingBox())!;
    const message = (await row.locator('.msg').boundingBox())!;
    expect(message.x + message.width).toBeLessThanOrEqual(box.x + box.width + 1);
    expect(message.height).toBeGreaterThanOrEqual(3 * 20);
    // the next row starts below it
    const rows = page.getByTestId(rowTestId);
    const count = await rows.count();
    for (let n = 0; n < count - 1; n++) {
      const [a, b] = [(await rows.nth(n).boundingBox())!, (await rows.nth(n + 1).boundingBox())!];
      expect(b.y).toBeGreaterThanOrEqual(a.y + a.height - 1);
    }
  }

  it('wraps them with the wrap toggle, in the worker lines and the search, and keeps it after a reload', { timeout: 60_000 }, async () => {
    const at = Date.now() / 1000;
    await fetch(`${suite.hub.url}/api/workers/long-w/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'idle', logs: [long, 'short after'].map((message, i) => ({ timestamp: at + i / 1000, level: 'INFO', message })) }),
    });
    const page = await suite.tab('#/logs?worker=long-w');
    await page.getByTestId('system-log-row').nth(1).waitFor({ timeout: 20_000 });
    await page.getByTestId('logs-wrap').check();
    await expectWrapped(page, 'system-log-row', 'logs-scroll');
    await page.reload();
    await expectWrapped(page, 'system-log-row', 'logs-scroll');
    await page.getByTestId('logs-scope').selectOption('all');
    await page.getByTestId('logs-q').fill('wrapneedle');
    await page.getByRole('button', { name: 'apply' }).click();
    await expectWrapped(page, 'search-row', 'search-scroll');
  });
});
