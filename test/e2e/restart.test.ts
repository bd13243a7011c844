/**
 * A hub restart in the middle of a run, seen from a browser: the viewer's stream drops, comes
 * back (EventSource with Last-Event-ID), and the view ends with every line exactly once.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../../src/server/listen.js';
import { FIXTURES, getJson, hubOn, PYTHON, tempDir, waitFor } from '../helpers.js';
import { closeTab, errorsOf, exitCodeOf, launchBrowser, openTab, renderedSeqs, runOnHub, screenshotOnFailure, seqsOfWholeView, sleep } from './browser.js';
import { describeInBrowser } from './suite.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describeInBrowser('a hub restart under the viewer', () => {
  let hub: RunningHub | undefined;
  let browser: Browser;
  const tabs: Page[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterEach(async ({ task }) => {
    await screenshotOnFailure(task.result?.state === 'fail', task.name, tabs);
    for (const tab of tabs.splice(0)) await closeTab(tab);
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('loses nothing in the view: every line once, in order, after the hub stops and comes back mid-run', { timeout: 90_000 }, async () => {
    const dataDir = tempDir();
    hub = await hubOn(dataDir);
    const url = hub.url;
    const port = Number(new URL(url).port);
    const total = 2_000;
    // about 300 lines a second for 6-7 s
    const run = runOnHub(url, 'outage', tempDir(), [PYTHON, join(FIXTURES, 'paced.py'), String(total), '0.003']);
    await waitFor(async () => (await fetch(`${url}/api/runs/outage`)).status === 200 || undefined, 20_000, 'the run on the hub');
    const page = await openTab(browser, `${url}/#/runs/outage`);
    tabs.push(page);
    await waitFor(async () => ((await renderedSeqs(page)).at(-1) ?? 0) >= 200 || undefined, 20_000, '200 lines in the view');
    await page.locator('[data-testid="stream-state"][data-state="live"]').waitFor();

    await hub.close();
    hub = undefined;
    // the viewer notices: its stream is no longer live
    await page.locator('[data-testid="stream-state"]:not([data-state="live"])').waitFor({ timeout: 10_000 });
    const beforeRestart = (await renderedSeqs(page)).at(-1)!;
    expect(beforeRestart).toBeLessThan(total); // the outage is in the middle of the run
    await sleep(1_500);
    hub = await hubOn(dataDir, port);

    expect(await exitCodeOf(run)).toBe(0);
    const { body } = await getJson<{ status: string; line_count: number }>(`${url}/api/runs/outage`);
    expect(body).toMatchObject({ status: 'completed', line_count: total });
    await page.getByTestId('run-end').waitFor({ timeout: 30_000 });
    await expect.poll(async () => (await renderedSeqs(page)).at(-1), { timeout: 10_000 }).toBe(total);
    expect(await page.getByTestId('log-status').textContent()).toContain(`lines 1–2,000 · 2,000 in view · 2,000 in run`);
    // the whole list, scrolled through: 1..N, no gap, no duplicate
    expect(await seqsOfWholeView(page)).toEqual(range(1, total));
    expect(errorsOf(page)).toEqual([]);
  });
});
