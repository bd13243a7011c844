/**
 * Keyboard and screen-reader basics on each page: every form control has a name of its own (a
 * label, aria-label or title: a placeholder is gone once typed in, and a select without one was
 * read as its current option), and the log box, reached with Tab, shows that it has the focus
 * (it had `outline: none` only: the keys g/G/arrows moved a box nothing marked); the error jumps
 * ↑ ↓ are named by what they do.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { errorsOf } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

describeInBrowser('form controls named, the log box focus seen', () => {
  const suite = useHubAndBrowser();

  /** the controls of the page's main part that have no name but their placeholder or value */
  const unnamed = (page: Page) =>
    page.locator('main input, main select, main textarea').evaluateAll((controls) =>
      controls
        .filter((control) => {
          const element = control as unknown as { labels: { length: number } | null; getAttribute(name: string): string | null; type: string };
          if (element.type === 'hidden') return false;
          return !(element.getAttribute('aria-label') || element.getAttribute('aria-labelledby') || element.getAttribute('title') || (element.labels?.length ?? 0) > 0);
        })
        .map((control) => (control as unknown as { outerHTML: string }).outerHTML.slice(0, 100)),
    );

  it('names every control of the runs, run and logs pages', async () => {
    await postToHub(suite.hub, '/api/runs', { id: 'named' });
    await postToHub(suite.hub, '/api/runs/named/logs', { records: [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: 'hello' }] });
    await postToHub(suite.hub, '/api/workers/w-named/heartbeat', { status: 'idle', logs: [{ timestamp: new Date().toISOString(), level: 'INFO', message: 'up' }] });
    for (const [path, control] of [['#/runs', 'runs-filter'], ['#/runs/named', 'search-input'], ['#/logs', 'logs-worker']] as const) {
      const page = await suite.tab(path);
      await page.getByTestId(control).waitFor({ timeout: 20_000 });
      expect(await unnamed(page), path).toEqual([]);
      // the error jumps are arrows: a screen reader said "up arrow", "down arrow"
      if (path === '#/runs/named') for (const name of ['previous error', 'next error']) expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(1);
      expect(errorsOf(page)).toEqual([]);
    }
  });

  it('shows a focus ring on the log box reached with Tab', async () => {
    await postToHub(suite.hub, '/api/runs', { id: 'focused' });
    await postToHub(suite.hub, '/api/runs/focused/logs', { records: [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: 'hello' }] });
    const page = await suite.tab('#/runs/focused');
    await page.getByTestId('log-row').first().waitFor({ timeout: 20_000 });
    const box = page.getByTestId('log-scroll');
    const focused = () => box.evaluate((element) => element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement);
    for (let presses = 0; presses < 40 && !(await focused()); presses++) await page.keyboard.press('Tab');
    expect(await focused()).toBe(true);
    const outline = await box.evaluate((element) => {
      const style = (globalThis as unknown as { getComputedStyle(element: unknown): { outlineStyle: string; outlineWidth: string } }).getComputedStyle(element);
      return `${style.outlineStyle} ${style.outlineWidth}`;
    });
    expect(outline).toMatch(/^solid [1-9]/);
    expect(errorsOf(page)).toEqual([]);
  });
});
