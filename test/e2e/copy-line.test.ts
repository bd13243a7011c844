/**
 * Copying one log line as a user does: a triple-click on it, then Control+C. Chrome's triple-click
 * selects the line up to the start of the next row's message; the next row's time and level
 * (unselectable, before its message) were copied as a second line ("…code=9\n20:04:50.963 ERROR").
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { errorsOf } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

describeInBrowser('a log line copied after a triple-click', () => {
  const suite = useHubAndBrowser();

  /** what Control+C puts on the clipboard: the page's copy handler's text, else the selection's */
  async function copy(page: Page): Promise<string> {
    await page.evaluate(() => {
      type CopyEvent = { defaultPrevented: boolean; clipboardData: { getData(type: string): string } | null };
      const page = globalThis as unknown as { copiedText?: string; getSelection(): { toString(): string }; addEventListener(type: 'copy', listener: (event: CopyEvent) => void, options: { once: boolean }): void };
      delete page.copiedText;
      page.addEventListener('copy', (event) => {
        page.copiedText = event.defaultPrevented && event.clipboardData !== null ? event.clipboardData.getData('text/plain') : page.getSelection().toString();
      }, { once: true });
    });
    await page.keyboard.press('Control+C');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { copiedText?: string }).copiedText), { timeout: 5_000 }).toBeDefined();
    return (await page.evaluate(() => (globalThis as unknown as { copiedText?: string }).copiedText))!;
  }

  it('copies the line alone, with nothing of the next row', async () => {
    await postToHub(suite.hub, '/api/runs', { id: 'triple' });
    const at = Date.now() * 1000;
    const records = Array.from({ length: 20 }, (_, i) => ({ seq: i + 1, timestamp: at + i * 1000, level: i % 2 === 0 ? 'INFO' : 'ERROR', message: `step ${i + 1} loss=0.5` }));
    await postToHub(suite.hub, '/api/runs/triple/logs', { records });
    const page = await suite.tab('#/runs/triple');
    const row = page.locator('[data-testid="log-row"][data-seq="7"]');
    await row.waitFor({ timeout: 20_000 });
    await row.locator('.msg').click({ clickCount: 3 });
    expect(await copy(page)).toBe('step 7 loss=0.5');
    // a drag over two whole rows still copies both, with their time and level
    await page.evaluate(() => {
      const { document, getSelection } = globalThis as unknown as {
        document: { querySelector(selector: string): unknown; createRange(): { setStartBefore(node: unknown): void; setEndAfter(node: unknown): void } };
        getSelection(): { removeAllRanges(): void; addRange(range: unknown): void };
      };
      const range = document.createRange();
      range.setStartBefore(document.querySelector('[data-seq="7"] .ts'));
      range.setEndAfter(document.querySelector('[data-seq="8"] .msg'));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    });
    expect(await copy(page)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO step 7 loss=0\.5\n\d\d:\d\d:\d\d\.\d{3} ERROR step 8 loss=0\.5$/);
    expect(errorsOf(page)).toEqual([]);
  });
});
