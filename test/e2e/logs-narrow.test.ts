/**
 * The Logs page on a phone, and copying its lines.
 * - At 420 px the time, worker (or run), level and task columns (16 + 16 + 4 + 22 characters) left
 *   the message about 3 characters wide, wrapped or not: now the message is a line of its own
 *   under them, the width of the list, in both views (worker lines, every run and worker).
 * - A search result's task chip sat in its message with only a margin between them: a selection
 *   copied "task-7hello". Now a space separates them in the text too.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { errorsOf, type PageGlobals } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

const PHONE = { width: 420, height: 800 };

describeInBrowser('the Logs page on a narrow screen, and its lines copied', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: object) => postToHub(suite.hub, path, body);
  let seeded = false;
  /** a worker's line and a run's line, each of task task-7, and one of no task (once for the suite) */
  const seed = async () => {
    if (seeded) return;
    seeded = true;
    const now = Date.now();
    await post('/api/workers/gpu-worker-01/heartbeat', {
      status: 'idle',
      logs: [
        { timestamp: new Date(now - 2000).toISOString(), level: 'WARNING', message: 'no task here' },
        { timestamp: new Date(now - 1000).toISOString(), level: 'INFO', message: 'hello from the worker, a message long enough to wrap on a phone', task_id: 'task-7' },
      ],
    });
    await post('/api/runs', { id: 'narrow-run' });
    await post('/api/runs/narrow-run/logs', { records: [{ seq: 1, timestamp: now * 1000, level: 'INFO', message: 'hello from the run, epoch 1 loss=0.123 and more', task_id: 'task-7' }] });
  };

  /** each message box: its left, and how much of it is inside the viewport */
  const messageBoxes = (page: Page) =>
    page.evaluate(() => {
      const { document } = globalThis as unknown as PageGlobals;
      const width = (globalThis as unknown as { innerWidth: number }).innerWidth;
      return [...document.querySelectorAll('.system-logs .row.line .msg')].map((msg) => {
        const box = msg.getBoundingClientRect() as unknown as { left: number; right: number };
        return { text: msg.textContent ?? '', visible: Math.min(box.right, width) - Math.max(box.left, 0), width };
      });
    });

  for (const scope of ['', 'scope=all&'] as const) {
    for (const wrap of [false, true]) {
      it(`gives the message at least 60% of a 420 px screen (${scope === '' ? 'worker lines' : 'every run and worker'}, ${wrap ? 'wrapped' : 'not wrapped'})`, async () => {
        await seed();
        const page = await suite.tab(`#/logs?${scope}q=hello`);
        await page.setViewportSize(PHONE);
        const rowTestId = scope === '' ? 'system-log-row' : 'search-row';
        await expect.poll(() => page.getByTestId(rowTestId).count(), { timeout: 20_000 }).toBe(scope === '' ? 1 : 2);
        if (wrap) await page.getByTestId('logs-wrap').check();
        await expect
          .poll(async () => {
            const boxes = await messageBoxes(page);
            return boxes.length > 0 && boxes.every((box) => box.visible >= 0.6 * box.width);
          }, { timeout: 10_000 })
          .toBe(true);
        // the rows do not overlap: each (a virtual list's too) is as tall as it is drawn
        const rows = await page.getByTestId(rowTestId).evaluateAll((elements) => elements.map((row) => row.getBoundingClientRect()).map(({ top, bottom }) => ({ top, bottom })).sort((a, b) => a.top - b.top));
        for (let index = 1; index < rows.length; index++) expect(rows[index]!.top).toBeGreaterThanOrEqual(rows[index - 1]!.bottom - 0.5);
        expect(errorsOf(page)).toEqual([]);
      });
    }
  }

  for (const [scope, rowTestId] of [['', 'system-log-row'], ['scope=all&', 'search-row']] as const) {
    for (const viewport of [null, PHONE]) {
      it(`copies a line's task chip and message as two words (${rowTestId}, ${viewport === null ? 'wide' : '420 px'})`, async () => {
        await seed();
        const page = await suite.tab(`#/logs?${scope}q=hello`);
        if (viewport !== null) await page.setViewportSize(viewport);
        const row = page.getByTestId(rowTestId).filter({ hasText: 'task-7' }).first();
        await row.waitFor({ timeout: 20_000 });
        // the browser's own selection of the row, chip to the end of the message, as a drag makes it
        const copied = await row.evaluate((element) => {
          const { getSelection, document } = globalThis as unknown as { getSelection(): { removeAllRanges(): void; addRange(range: unknown): void; toString(): string }; document: { createRange(): { setStartBefore(node: unknown): void; setEndAfter(node: unknown): void } } };
          const range = document.createRange();
          range.setStartBefore(element.querySelector('.task-chip'));
          range.setEndAfter(element.querySelector('.msg'));
          const selection = getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          return selection.toString();
        });
        expect(copied).toMatch(/task-7\s+hello from the/);
        expect(errorsOf(page)).toEqual([]);
      });
    }
  }
});
