/**
 * Text contrast on the run, runs, workers and logs pages, light and dark (prefers-color-scheme): every piece of text on
 * screen at 4.5:1 at least against what is behind it (WCAG AA, 3:1 for large text). The line
 * numbers, which are links (#L…), were 2.5:1 (light) and 2.9:1 (dark).
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { errorsOf } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

describeInBrowser('text contrast', () => {
  const suite = useHubAndBrowser();

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`keeps the run page's text at WCAG AA contrast (${colorScheme})`, async () => {
      const id = `contrast-${colorScheme}`;
      await postToHub(suite.hub, '/api/runs', { id });
      const at = Date.now() * 1000;
      const levels = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
      await postToHub(suite.hub, `/api/runs/${id}/logs`, { records: levels.map((level, i) => ({ seq: i + 1, timestamp: at + i, level, message: `a ${level} line` })) });
      const page = await suite.tab(`#/runs/${id}`, { colorScheme });
      await page.locator('[data-testid="log-row"][data-seq="5"]').waitFor({ timeout: 20_000 });
      const low = await lowContrast(page);
      expect(low).toEqual([]);
      expect(errorsOf(page)).toEqual([]);
    });

    it(`keeps the runs, workers and logs pages' text at WCAG AA contrast (${colorScheme})`, async () => {
      await postToHub(suite.hub, '/api/runs', { id: `listed-${colorScheme}` });
      await postToHub(suite.hub, '/api/workers/contrast-w/heartbeat', {
        status: 'busy',
        gpus: [{ index: 0, name: 'NVIDIA H200', memory_total_mb: 143771, memory_used_mb: 140000, utilization_gpu: 95, temperature_c: 80, power_draw_w: 690 }],
        logs: ['DEBUG', 'INFO', 'WARNING', 'ERROR'].map((level) => ({ timestamp: new Date().toISOString(), level, message: `a ${level} line` })),
      });
      for (const [path, ready] of [['#/runs', 'runs-filter'], ['#/workers', 'worker-card'], ['#/logs', 'system-log-row']] as const) {
        const page = await suite.tab(path, { colorScheme });
        await page.getByTestId(ready).first().waitFor({ timeout: 20_000 });
        expect(await lowContrast(page), path).toEqual([]);
        expect(errorsOf(page)).toEqual([]);
      }
    });
  }
});

/** the text on screen below AA contrast against what is behind it */
const lowContrast = (page: Page) =>
  page.evaluate(() => {
        type El = { parentElement: El | null; getBoundingClientRect(): { width: number }; className: string; tagName: string };
        const window = globalThis as unknown as {
          document: { body: unknown; createTreeWalker(root: unknown, show: number): { nextNode(): { textContent: string; parentElement: El | null } | null } };
          getComputedStyle(element: El): { color: string; backgroundColor: string; fontSize: string; fontWeight: string };
        };
        // rgb(r g b / a) in 0–255, or color(srgb r g b / a) in 0–1 (what color-mix() computes to)
        const channels = (color: string) => {
          const values = (color.match(/[\d.]+/g) ?? []).map(Number);
          return color.startsWith('color(') ? values.map((value, i) => (i < 3 ? value * 255 : value)) : values;
        };
        const luminance = ([r, g, b]: number[]) => {
          const linear = (v: number) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
          return 0.2126 * linear(r!) + 0.7152 * linear(g!) + 0.0722 * linear(b!);
        };
        // what is behind an element: its backgrounds from the page's up, translucent ones blended
        const behind = (element: El) => {
          const layers: number[][] = [];
          for (let at: El | null = element; at !== null; at = at.parentElement) layers.push(channels(window.getComputedStyle(at).backgroundColor));
          let colour = [255, 255, 255];
          for (const layer of layers.reverse()) {
            const alpha = layer[3] ?? 1;
            colour = colour.map((value, i) => value * (1 - alpha) + layer[i]! * alpha);
          }
          return colour;
        };
        const found: string[] = [];
        const walker = window.document.createTreeWalker(window.document.body, 4);
        for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
          const element = node.parentElement;
          if (element === null || node.textContent.trim() === '' || element.getBoundingClientRect().width === 0) continue;
          const style = window.getComputedStyle(element);
          const [fore, back] = [luminance(channels(style.color)), luminance(behind(element))];
          const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
          const large = parseFloat(style.fontSize) >= 24 || (Number(style.fontWeight) >= 700 && parseFloat(style.fontSize) >= 18.66);
          // the breadcrumb's "/" is a separator, not text to read
          if (ratio < (large ? 3 : 4.5) && element.className !== 'crumb-sep') found.push(`${element.tagName}.${element.className} "${node.textContent.trim().slice(0, 20)}" ${ratio.toFixed(2)}`);
        }
        return found;
      });
