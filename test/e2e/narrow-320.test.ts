/**
 * The runs and workers pages in a 320 px window (the narrowest phone): nothing off screen. The
 * worker cards were 440 px wide at least and their GPUs 300 px (temperature, power and util cut
 * off, out of reach), the status filter's last buttons ran off the right edge, and the top bar's
 * hub state was cut off.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { errorsOf } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

const NARROWEST = { width: 320, height: 640 };

describeInBrowser('a 320 px window', () => {
  const suite = useHubAndBrowser();

  /** elements of the page whose right edge is past the window's (outside boxes that scroll sideways) */
  const offScreen = (page: Page, selector: string) =>
    page.locator(selector).evaluateAll((elements) => {
      const { innerWidth } = globalThis as unknown as { innerWidth: number };
      return elements
        .filter((element) => (element as unknown as { getBoundingClientRect(): { right: number } }).getBoundingClientRect().right > innerWidth + 0.5)
        .map((element) => (element as unknown as { textContent: string }).textContent.trim().slice(0, 40));
    });
  const pageWidth = (page: Page) => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);

  it('keeps the runs page status filter and the top bar on screen', async () => {
    await postToHub(suite.hub, '/api/runs', { id: 'narrow-run' });
    const page = await suite.tab('#/runs');
    await page.setViewportSize(NARROWEST);
    await page.getByTestId('runs-status-filter').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('runs-status-filter').locator('button').count()).toBe(6);
    expect(await offScreen(page, '[data-testid="runs-status-filter"] button, .topbar > *')).toEqual([]);
    expect(await pageWidth(page)).toBeLessThanOrEqual(NARROWEST.width);
    expect(errorsOf(page)).toEqual([]);
  });

  it("keeps a worker card and its GPUs' figures on screen", async () => {
    const gpus = Array.from({ length: 2 }, (_, index) => ({ index, name: 'NVIDIA H200', memory_total_mb: 143771, memory_used_mb: 71885, utilization_gpu: 40, temperature_c: 41, power_draw_w: 81.95 }));
    await postToHub(suite.hub, '/api/workers/narrow-w/heartbeat', { status: 'idle', gpus });
    const page = await suite.tab('#/workers');
    await page.setViewportSize(NARROWEST);
    await expect.poll(() => page.getByTestId('gpu').count(), { timeout: 20_000 }).toBe(2);
    expect(await offScreen(page, '.card, [data-testid="gpu"] *')).toEqual([]);
    expect(await page.getByTestId('gpu').first().textContent()).toMatch(/41°C.*82 W.*util 40%/);
    expect(await pageWidth(page)).toBeLessThanOrEqual(NARROWEST.width);
    expect(errorsOf(page)).toEqual([]);
  });
});
