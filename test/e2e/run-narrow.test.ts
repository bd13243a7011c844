/**
 * The run page on a phone, and copying log rows.
 * - At 420 px the line number, time, level and logger columns left the message ~15 characters
 *   wide, and a run of several files (a file column) pushed it off screen. Under 640 px the message
 *   is now a line of its own under them, the width of the list, wrapped or not; unwrapped, a row
 *   is still of a known height (one screen line more), and rows never overlap.
 * - Copying selected rows gave each column on a line of its own (Chrome copies flex items as
 *   blocks): now one line per row, its columns separated by a space, on the run page and on the
 *   Logs page's lists.
 */
import { expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { errorsOf } from './browser.js';
import { describeInBrowser, postToHub, useHubAndBrowser } from './suite.js';

const PHONE = { width: 420, height: 800 };
const LONG = 'loss=0.1234 lr=3e-4 grad_norm=1.02 tokens/s=51234 a message long enough to wrap twice on a phone screen';

/** runs of several files, of several loggers, of both: 40 lines each, one of them (the 37th) a traceback of 3 lines */
const RUNS = {
  'phone-files': { files: true, loggers: false },
  'phone-loggers': { files: false, loggers: true },
  'phone-both': { files: true, loggers: true },
} as const;

describeInBrowser('the run page on a narrow screen, and log rows copied', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: object) => postToHub(suite.hub, path, body);
  let seeded = false;
  const seed = async () => {
    if (seeded) return;
    seeded = true;
    const at = Date.now() * 1000;
    for (const [id, { files, loggers }] of Object.entries(RUNS)) {
      await post('/api/runs', { id });
      const records = Array.from({ length: 40 }, (_, i) => ({
        seq: i + 1,
        timestamp: at + i * 1000,
        level: i % 3 === 1 ? 'WARNING' : 'INFO',
        message: i === 36 ? 'Traceback (most recent call last):\n  File "train.py", line 3\nValueError: bad' : `epoch ${i} ${LONG}`,
        ...(files ? { attrs: { path: `/data/experiments/outputs/${i % 2 === 0 ? 'alpha' : 'beta-long-name'}/run.log` } } : {}),
        ...(loggers ? { logger: i % 2 === 0 ? 'train' : 'torch.distributed.elastic' } : {}),
      }));
      await post(`/api/runs/${id}/logs`, { records });
    }
    await post('/api/workers/gpu-worker-01/heartbeat', {
      status: 'idle',
      logs: [
        { timestamp: new Date(Date.now() - 2000).toISOString(), level: 'WARNING', message: 'no task here' },
        { timestamp: new Date(Date.now() - 1000).toISOString(), level: 'INFO', message: 'hello from the worker', task_id: 'task-7' },
      ],
    });
  };

  /** each row on screen: its box, its message's box, and the lowest of its cells */
  const layout = (page: Page) =>
    page.getByTestId('log-row').evaluateAll((rows) =>
      rows.map((row) => {
        const box = (element: { getBoundingClientRect(): unknown }) => element.getBoundingClientRect() as unknown as { top: number; bottom: number; left: number; right: number };
        return { row: box(row), msg: box(row.querySelector('.msg')!), cells: Math.max(...[...row.children].map((cell) => box(cell).bottom)), width: (globalThis as unknown as { innerWidth: number }).innerWidth };
      }),
    );

  for (const [run, { files, loggers }] of Object.entries(RUNS)) {
    for (const wrap of [false, true]) {
      it(`gives the message at least 60% of a 420 px screen, rows apart (${run}, ${wrap ? 'wrapped' : 'not wrapped'})`, async () => {
        await seed();
        const page = await suite.tab(`#/runs/${run}`);
        await page.setViewportSize(PHONE);
        await expect.poll(() => page.getByTestId('log-row').count(), { timeout: 20_000 }).toBeGreaterThan(10);
        expect(await page.locator('.log-scroll .row .file').count() > 0).toBe(files);
        expect(await page.locator('.log-scroll .row .logger').count() > 0).toBe(loggers);
        if (wrap) await page.getByTestId('toggle-wrap').click();
        await expect.poll(async () => (await layout(page)).every(({ msg, width }) => Math.min(msg.right, width) - Math.max(msg.left, 0) >= 0.6 * width), { timeout: 10_000 }).toBe(true);
        if (wrap) await expect.poll(async () => (await layout(page)).every(({ msg, width }) => msg.right <= width + 0.5), { timeout: 10_000 }).toBe(true);
        const rows = (await layout(page)).sort((a, b) => a.row.top - b.row.top);
        for (const [index, { row, cells, msg }] of rows.entries()) {
          // the message under the other columns, and everything the row draws inside its box
          expect(msg.top).toBeGreaterThanOrEqual(row.top + 19.5);
          expect(cells).toBeLessThanOrEqual(row.bottom + 0.5);
          if (index > 0) expect(row.top).toBeGreaterThanOrEqual(rows[index - 1]!.row.bottom - 0.5);
        }
        // wrapped, a long message takes lines of its own; the traceback's three lines, unwrapped
        if (wrap) expect(Math.max(...rows.map(({ msg }) => msg.bottom - msg.top))).toBeGreaterThanOrEqual(40);
        else expect(rows.map(({ row }) => row.bottom - row.top).sort((a, b) => b - a)[0]).toBe(80);
        expect(errorsOf(page)).toEqual([]);
      });
    }
  }

  it('wraps long lines on a wide screen with no row drawn over another (wrap turned on while following)', async () => {
    await seed();
    await post('/api/runs', { id: 'wide-wrap' });
    const at = Date.now() * 1000;
    await post('/api/runs/wide-wrap/logs', { records: Array.from({ length: 60 }, (_, i) => ({ seq: i + 1, timestamp: at + i, level: 'INFO', message: `line ${i} ${LONG.repeat(6)}` })) });
    const page = await suite.tab('#/runs/wide-wrap');
    await expect.poll(() => page.getByTestId('log-row').count(), { timeout: 20_000 }).toBeGreaterThan(10);
    await page.getByTestId('toggle-wrap').click();
    // each row several screen lines tall, placed below the one before
    await expect.poll(async () => Math.min(...(await layout(page)).map(({ row }) => row.bottom - row.top)), { timeout: 10_000 }).toBeGreaterThanOrEqual(60);
    const rows = (await layout(page)).sort((a, b) => a.row.top - b.row.top);
    for (let index = 1; index < rows.length; index++) expect(rows[index]!.row.top).toBeGreaterThanOrEqual(rows[index - 1]!.row.bottom - 0.5);
    expect(errorsOf(page)).toEqual([]);
  });

  for (const viewport of [null, PHONE]) {
    it(`copies run rows a line each: time, level, file, logger and message (${viewport === null ? 'wide' : '420 px'})`, async () => {
      await seed();
      const page = await suite.tab('#/runs/phone-both');
      if (viewport !== null) await page.setViewportSize(viewport);
      const rows = page.getByTestId('log-row');
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThan(10);
      const first = rows.filter({ hasText: 'epoch 30 ' });
      const third = rows.filter({ hasText: 'epoch 32 ' });
      // a drag from the first row's time to the end of the third row's message
      const whole = await copied(page, first, '.ts', 0, third, '.msg', null);
      const row = (epoch: number, level: string, file: string, logger: string) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ${level} ${file} ${logger} epoch ${epoch} ${LONG.replace(/[.+*?^$()[\]{}|\\/]/g, '\\$&')}$`);
      const lines = whole.split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(row(30, 'INFO', 'alpha/run.log', 'train'));
      expect(lines[1]).toMatch(row(31, 'WARNING', 'beta-long-name/run.log', 'torch.distributed.elastic'));
      expect(lines[2]).toMatch(row(32, 'INFO', 'alpha/run.log', 'train'));
      // from the middle of one message to the middle of the next: their parts, the second with its columns
      const parts = await copied(page, first, '.msg', 6, rows.filter({ hasText: 'epoch 31 ' }), '.msg', 8);
      expect(parts).toMatch(new RegExp(`^30 ${LONG.slice(0, 10)}.*\\n\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARNING beta-long-name/run.log torch.distributed.elastic epoch 31$`));
      // a word of one message: the browser's own copy, untouched
      expect(await copied(page, first, '.msg', 0, first, '.msg', 5)).toBe('epoch');
      expect(errorsOf(page)).toEqual([]);
    });
  }

  it("copies the Logs page's worker lines a line each", async () => {
    await seed();
    const page = await suite.tab('#/logs');
    const rows = page.getByTestId('system-log-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    const text = await copied(page, rows.first(), '.ts', 0, rows.last(), '.msg', null);
    expect(text).toMatch(/^\d\d:\d\d:\d\d gpu-worker-01 INFO task-7 hello from the worker\n\d\d:\d\d:\d\d gpu-worker-01 WARNING no task here$/);
    expect(errorsOf(page)).toEqual([]);
  });
});

/**
 * What a copy (Control+C) of a selection puts on the clipboard: from a cell of one row (at a
 * character of its first text, or its start) to a cell of another (at a character, or its end).
 * The page's copy handler's text if it gave one, else the browser's own (the selection's text).
 */
async function copied(page: Page, from: Locator, fromCell: string, fromAt: number, to: Locator, toCell: string, toAt: number | null): Promise<string> {
  const end = await to.elementHandle();
  await from.evaluate(
    (start, [startCell, startAt, endRow, endCell, endAt]) => {
      type Range = { setStart(node: unknown, offset: number): void; setEnd(node: unknown, offset: number): void; setStartBefore(node: unknown): void; setEndAfter(node: unknown): void };
      type Selection = { removeAllRanges(): void; addRange(range: Range): void; toString(): string };
      type CopyEvent = { defaultPrevented: boolean; clipboardData: { getData(type: string): string } | null };
      const page = globalThis as unknown as {
        copiedText?: string;
        getSelection(): Selection;
        addEventListener(type: 'copy', listener: (event: CopyEvent) => void, options: { once: boolean }): void;
        document: { createRange(): Range; createTreeWalker(root: unknown, show: number): { nextNode(): unknown } };
      };
      // a text node of the cell (NodeFilter.SHOW_TEXT): an offset in it is a character of its text
      const firstText = (element: unknown): unknown => page.document.createTreeWalker(element, 4).nextNode() ?? element;
      const range = page.document.createRange();
      type Cells = { querySelector(selector: string): unknown };
      const a = (start as Cells).querySelector(startCell as string);
      const b = (endRow as unknown as Cells).querySelector(endCell as string);
      if (startAt === 0) range.setStartBefore(a);
      else range.setStart(firstText(a), startAt as number);
      if (endAt === null) range.setEndAfter(b);
      else range.setEnd(firstText(b), endAt as number);
      const selection = page.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      delete page.copiedText;
      page.addEventListener('copy', (event) => {
        const clipboard = event.clipboardData;
        page.copiedText = event.defaultPrevented && clipboard !== null ? clipboard.getData('text/plain') : page.getSelection().toString();
      }, { once: true });
    },
    [fromCell, fromAt, end, toCell, toAt] as const,
  );
  await page.keyboard.press('Control+C');
  await expect.poll(() => page.evaluate(() => (globalThis as unknown as { copiedText?: string }).copiedText), { timeout: 5_000 }).toBeDefined();
  return (await page.evaluate(() => (globalThis as unknown as { copiedText?: string }).copiedText))!;
}
