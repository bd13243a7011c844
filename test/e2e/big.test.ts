/**
 * Big runs in a real browser: the search runs on the hub over lines the page never loaded, and a
 * 1M-line run opens at its tail, loads older pages while scrolled up, and jumps to a line by link.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { FIXTURES, PYTHON, tempDir } from '../helpers.js';
import { errorsOf, exitCodeOf, goToHash, hashOf, renderedSeqs, runOnHub, visibleSeqs, writeBigRun } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('big runs in the viewer', () => {
  const suite = useHubAndBrowser();
  const tab = (path: string) => suite.tab(path);

  const row = (page: Page, seq: number) => page.locator(`[data-testid="log-row"][data-seq="${seq}"]`);

  it('finds with the search a line the page never loaded, and shows it in its context', async () => {
    // a real run of 50,000 lines: `line 00000001 xxx…` to `line 00050000 xxx…`
    const run = runOnHub(suite.hub.url, 'fifty', tempDir(), [PYTHON, join(FIXTURES, 'many_lines.py'), '50000']);
    expect(await exitCodeOf(run)).toBe(0);
    const page = await tab('#/runs/fifty');
    await row(page, 50_000).waitFor({ timeout: 20_000 });
    // only the tail is here: line 42 is neither in the DOM nor in the viewer's window
    expect((await renderedSeqs(page))[0]).toBeGreaterThan(40_000);
    expect(await page.getByTestId('log-status').textContent()).toMatch(/lines 49,001–50,000 · 1,000 in view · 50,000 in run/);

    await page.getByTestId('search-input').fill('LINE 00000042');
    await page.getByTestId('search-input').press('Enter');
    await expect.poll(() => page.getByTestId('search-status').textContent(), { timeout: 20_000 }).toBe('1 match');
    await row(page, 42).waitFor({ timeout: 10_000 });
    expect(await visibleSeqs(page)).toEqual([42]);
    expect(await row(page, 42).textContent()).toContain('line 00000042 xxx');
    // the match is marked in the line, whatever its case in the search box
    expect(await row(page, 42).locator('mark.match').allTextContents()).toEqual(['line 00000042']);

    // its number links to it in context: the lines around it, the search ended
    await row(page, 42).getByTestId('line-link').click();
    await expect.poll(() => hashOf(page)).toBe('#/runs/fifty/L42');
    await expect.poll(async () => (await visibleSeqs(page)).includes(43), { timeout: 10_000 }).toBe(true);
    const around = await visibleSeqs(page);
    expect(around).toEqual(expect.arrayContaining([40, 41, 42, 43, 44]));
    expect(await row(page, 42).getAttribute('class')).toContain('target');
    expect(await page.getByTestId('search-input').inputValue()).toBe('');
    expect(await page.locator('mark.match').count()).toBe(0); // no search, no marks
    expect(errorsOf(page)).toEqual([]);
  });

  it('opens a 1M-line run at its tail, loads older pages on scrolling up, and jumps to a linked line', { timeout: 120_000 }, async () => {
    await writeBigRun(suite.hub.store, 'million', 1_000_000);
    const page = await tab('#/runs/million');
    await row(page, 1_000_000).waitFor({ timeout: 20_000 });
    expect(await visibleSeqs(page)).toContain(1_000_000);
    const firstLoaded = (await renderedSeqs(page))[0]!;
    expect(firstLoaded).toBeGreaterThan(990_000);

    // scroll up by hand, a few screens at a time: pages before the window load, the view stays put
    const scroll = page.getByTestId('log-scroll');
    await scroll.hover();
    let oldestSeen = firstLoaded;
    for (let round = 0; round < 12 && oldestSeen > firstLoaded - 2_500; round++) {
      await page.mouse.wheel(0, -6_000);
      await page.waitForTimeout(250);
      oldestSeen = Math.min(oldestSeen, ...(await visibleSeqs(page)));
    }
    expect(oldestSeen).toBeLessThan(firstLoaded - 1_000); // lines of at least one older page were on screen
    // the status line says the window now starts further back
    const status = (await page.getByTestId('log-status').textContent()) ?? '';
    const windowStart = Number(/lines ([\d,]+)–/.exec(status)?.[1]?.replace(/,/g, ''));
    expect(windowStart, status).toBeLessThan(firstLoaded - 1_000);
    expect(await page.getByTestId('follow-toggle').getAttribute('aria-pressed')).toBe('false');
    // what is on screen is a run of consecutive lines
    const onScreen = await visibleSeqs(page);
    expect(onScreen).toEqual(Array.from({ length: onScreen.length }, (_, i) => onScreen[0]! + i));

    // a link to a line in the middle: the page fetches the lines around it and shows it
    await goToHash(page, '#/runs/million/L500000');
    await row(page, 500_000).waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await visibleSeqs(page)).includes(500_000), { timeout: 10_000 }).toBe(true);
    expect(await row(page, 500_000).getAttribute('class')).toContain('target');
    expect(await row(page, 500_000).textContent()).toContain('step 0500000 ');

    // and the same link opened in a fresh tab
    const linked = await tab('#/runs/million/L123456');
    await row(linked, 123_456).waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await visibleSeqs(linked)).includes(123_456), { timeout: 10_000 }).toBe(true);
    expect(errorsOf(page)).toEqual([]);
    expect(errorsOf(linked)).toEqual([]);
  });
});
