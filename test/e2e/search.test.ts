/** The Logs page searching every run (GET /api/search) in a real browser, each result a link to its line. */
import { expect, it } from 'vitest';
import { cli, tempDir } from '../helpers.js';
import { errorsOf, hashOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('the Logs page searching every run', () => {
  const suite = useHubAndBrowser();

  it('finds a text in every run, newest first, and a result opens the run at its line', async () => {
    for (const [id, script] of [
      ['search-a', 'echo "warming up"; echo "the Needle is here"'],
      ['search-b', 'echo "no match"; echo "one more"; echo "a needle again"'],
    ] as const) {
      expect((await cli(['run', '--quiet', '--hub', suite.hub.url, '--id', id, '--data', tempDir(), '--', '/bin/sh', '-c', script])).code).toBe(0);
    }
    const page = await suite.tab('#/logs');
    await page.getByTestId('logs-scope').selectOption('all');
    await page.getByTestId('logs-q').fill('NEEDLE');
    await page.getByRole('button', { name: 'apply' }).click();
    const rows = page.getByTestId('search-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    expect(await rows.nth(0).textContent()).toContain('a needle again');
    const link = rows.nth(0).locator('a.src');
    expect(await link.getAttribute('href')).toBe('#/runs/search-b/L3');
    expect(await rows.nth(1).locator('a.src').getAttribute('href')).toBe('#/runs/search-a/L2');
    await link.click();
    await expect.poll(() => hashOf(page)).toBe('#/runs/search-b/L3');
    await page.getByTestId('log-row').filter({ hasText: 'a needle again' }).waitFor({ timeout: 10_000 });
    expect(errorsOf(page)).toEqual([]);
  });

  it('loads older results page by page, each line once, when more than a page share one µs', { timeout: 60_000 }, async () => {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'same-us' })).status).toBe(201);
    // 450 lines of one µs: more than two pages of 200
    const records = Array.from({ length: 450 }, (_, i) => ({ seq: i + 1, timestamp: 1_795_465_800_000_000, level: 'INFO', message: `tied haystack ${i + 1}` }));
    expect((await post('/api/runs/same-us/logs', { records })).status).toBe(200);
    const page = await suite.tab('#/logs');
    await page.getByTestId('logs-scope').selectOption('all');
    await page.getByTestId('logs-q').fill('tied haystack');
    await page.getByRole('button', { name: 'apply' }).click();
    const rows = page.getByTestId('search-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(200);
    for (const shown of [400, 450]) {
      await page.getByRole('button', { name: /older lines/ }).click();
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(shown);
    }
    await expect.poll(() => page.getByRole('button', { name: /older lines/ }).count()).toBe(0);
    const links = await rows.locator('a.src').allTextContents();
    expect(links).toEqual(records.map((record) => `same-us#L${record.seq}`).reverse());
    expect(errorsOf(page)).toEqual([]);
  });

  it('adds an older page once however fast "load more" is clicked, and never into the results of a newer search', { timeout: 60_000 }, async () => {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'clicky' })).status).toBe(201);
    const records = Array.from({ length: 450 }, (_, i) => ({ seq: i + 1, timestamp: 1_795_465_900_000_000 + i, level: 'INFO', message: `clicky haystack ${i + 1}` }));
    expect((await post('/api/runs/clicky/logs', { records })).status).toBe(200);
    const page = await suite.tab('#/logs?scope=all&q=clicky%20haystack');
    const rows = page.getByTestId('search-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(200);
    // a double click: one page more, not the same page twice
    await page.getByRole('button', { name: /older lines/ }).dblclick();
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(400);
    await page.waitForTimeout(500);
    const links = await rows.locator('a.src').allTextContents();
    expect(links).toEqual(records.slice(50).map((record) => `clicky#L${record.seq}`).reverse());

    // "load more", then a new search before that page arrives: the old page is not added to the new results
    await page.route('**/api/search?*before=*', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await route.continue().catch(() => {});
    });
    await page.getByRole('button', { name: /older lines/ }).click();
    await page.getByTestId('logs-q').fill('clicky haystack 7');
    await page.getByRole('button', { name: 'apply' }).click();
    await page.waitForTimeout(2000);
    const messages = await rows.locator('.msg').allTextContents();
    expect(messages.length).toBeGreaterThan(0);
    for (const message of messages) expect(message).toContain('clicky haystack 7');
    expect(errorsOf(page)).toEqual([]);
  });

  it('keeps the results shown when an older page fails, says why beside the button, and loads it on a retry', { timeout: 60_000 }, async () => {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'flaky' })).status).toBe(201);
    const records = Array.from({ length: 250 }, (_, i) => ({ seq: i + 1, timestamp: 1_795_466_000_000_000 + i, level: 'INFO', message: `flaky haystack ${i + 1}` }));
    expect((await post('/api/runs/flaky/logs', { records })).status).toBe(200);
    const page = await suite.tab('#/logs?scope=all&q=flaky%20haystack');
    const rows = page.getByTestId('search-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(200);
    // the hub answers the older page with a 503 once
    let failures = 1;
    await page.route('**/api/search?*before=*', async (route) => {
      if (failures-- > 0) await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'UNAVAILABLE', message: 'store unreachable' }) });
      else await route.continue();
    });
    await page.getByRole('button', { name: /older lines/ }).click();
    await page.getByTestId('search-older-error').waitFor({ timeout: 10_000 });
    expect(await rows.count()).toBe(200);
    await page.getByRole('button', { name: /older lines/ }).click();
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(250);
    expect(await page.getByTestId('search-older-error').count()).toBe(0);
  });
});

describeInBrowser('a worker line found by the Logs page search', () => {
  const suite = useHubAndBrowser();

  it('opens that worker\'s lines at the match, however many came after it, and shows its task', { timeout: 60_000 }, async () => {
    const at = Date.now() / 1000 - 60;
    const logs = [{ timestamp: at, level: 'ERROR', message: 'deepneedle: task failed', task_id: 'task-77' }];
    // more lines after it than the worker's card shows (20)
    for (let i = 1; i <= 40; i++) logs.push({ timestamp: at + i, level: 'INFO', message: `filler ${i}`, task_id: 'task-77' });
    const sent = await fetch(`${suite.hub.url}/api/workers/deep-w/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'idle', logs }) });
    expect(sent.status).toBe(200);
    const page = await suite.tab('#/logs?scope=all&q=deepneedle');
    const row = page.getByTestId('search-row');
    await row.first().waitFor({ timeout: 20_000 });
    expect(await row.count()).toBe(1);
    expect(await row.locator('a.task-chip').getAttribute('href')).toBe('#/runs/task-77');
    await row.locator('a.src').click();
    // the worker's lines, newest first, from the match down: it is the first row
    const lines = page.getByTestId('system-log-row');
    await lines.first().waitFor({ timeout: 20_000 });
    expect(await lines.first().locator('.msg').textContent()).toBe('deepneedle: task failed');
    // back to its newest lines, live: the end time is cleared with one click
    expect(await page.getByTestId('logs-live').isDisabled()).toBe(true);
    await page.getByTestId('logs-until-clear').click();
    await expect.poll(() => lines.first().locator('.msg').textContent(), { timeout: 20_000 }).toBe('filler 40');
    expect(await page.getByTestId('logs-live').isDisabled()).toBe(false);
    expect(errorsOf(page)).toEqual([]);
  });
});

describeInBrowser('the Logs page\'s filters', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: object) =>
    fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('searches again: lines that came since are found (every run, and worker lines)', { timeout: 60_000 }, async () => {
    expect((await post('/api/runs', { id: 'again' })).status).toBe(201);
    const line = (seq: number) => ({ seq, timestamp: Date.now() * 1000, level: 'INFO', message: `againneedle ${seq}` });
    expect((await post('/api/runs/again/logs', { records: [line(1)] })).status).toBe(200);
    const heartbeat = (message: string) => post('/api/workers/again-w/heartbeat', { status: 'idle', logs: [{ timestamp: Date.now() / 1000, level: 'INFO', message }] });
    expect((await heartbeat('againneedle w1')).status).toBe(200);

    const page = await suite.tab('#/logs?scope=all&q=againneedle');
    const rows = page.getByTestId('search-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    expect((await post('/api/runs/again/logs', { records: [line(2)] })).status).toBe(200);
    await page.getByRole('button', { name: 'apply' }).click();
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3);
    expect(await rows.first().locator('.msg').textContent()).toBe('againneedle 2');

    // the worker lines (not live): Enter in the text box reads them again
    await page.getByTestId('logs-scope').selectOption('');
    const workerRows = page.getByTestId('system-log-row');
    await expect.poll(() => workerRows.count(), { timeout: 20_000 }).toBe(1);
    expect((await heartbeat('againneedle w2')).status).toBe(200);
    await page.getByTestId('logs-q').press('Enter');
    await expect.poll(() => workerRows.count(), { timeout: 20_000 }).toBe(2);
    expect(errorsOf(page)).toEqual([]);
  });

  it('takes a level and a time as the hub and runlog grep do (level=warn, since=2d), and shows them', { timeout: 60_000 }, async () => {
    expect((await post('/api/runs', { id: 'levels' })).status).toBe(201);
    const at = Date.now() * 1000;
    const records = ['INFO', 'WARNING', 'ERROR'].map((level, i) => ({ seq: i + 1, timestamp: at + i, level, message: `levelneedle ${level}` }));
    expect((await post('/api/runs/levels/logs', { records })).status).toBe(200);
    const page = await suite.tab('#/logs?scope=all&q=levelneedle&level=warn&since=2d');
    const rows = page.getByTestId('search-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    expect(await rows.locator('.msg').allTextContents()).toEqual(['levelneedle ERROR', 'levelneedle WARNING']);
    expect(await page.getByTestId('logs-level').inputValue()).toBe('WARNING');
    expect(await page.getByTestId('logs-since').locator('option:checked').textContent()).toBe('last 2d');
    // a level given as Python's number
    const numeric = await suite.tab('#/logs?scope=all&q=levelneedle&level=40');
    await expect.poll(() => numeric.getByTestId('search-row').count(), { timeout: 20_000 }).toBe(1);
    expect(await numeric.getByTestId('logs-level').inputValue()).toBe('ERROR');
    expect(errorsOf(page)).toEqual([]);
  });

  it('marks where each line matches, as the run page does', async () => {
    expect((await post('/api/runs', { id: 'marks' })).status).toBe(201);
    const records = [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: 'before MarkNeedle after \x1b[31mmarkneedle red\x1b[0m' }];
    expect((await post('/api/runs/marks/logs', { records })).status).toBe(200);
    const page = await suite.tab('#/logs?scope=all&q=markneedle');
    const row = page.getByTestId('search-row');
    await row.first().waitFor({ timeout: 20_000 });
    expect(await row.locator('mark.match').allTextContents()).toEqual(['MarkNeedle', 'markneedle']);
    expect(await row.locator('.msg').textContent()).toBe('before MarkNeedle after markneedle red');
    // and in the worker lines
    expect((await post('/api/workers/marks-w/heartbeat', { status: 'idle', logs: [{ timestamp: Date.now() / 1000, level: 'INFO', message: 'worker MARKNEEDLE here' }] })).status).toBe(200);
    const worker = await suite.tab('#/logs?q=markneedle');
    const line = worker.getByTestId('system-log-row');
    await line.first().waitFor({ timeout: 20_000 });
    expect(await line.locator('mark.match').allTextContents()).toEqual(['MARKNEEDLE']);
  });
});

describeInBrowser('the Logs page on a hub with no lines yet', () => {
  const suite = useHubAndBrowser();

  it('says there are no lines yet, and that a filter matches none only when there is one', async () => {
    const workers = await suite.tab('#/logs');
    await workers.getByTestId('logs-empty').waitFor({ timeout: 20_000 });
    expect(await workers.getByTestId('logs-empty').textContent()).toMatch(/^No worker lines yet/);
    const everywhere = await suite.tab('#/logs?scope=all');
    await everywhere.getByTestId('logs-empty').waitFor({ timeout: 20_000 });
    expect(await everywhere.getByTestId('logs-empty').textContent()).toMatch(/^No lines yet/);
    const filtered = await suite.tab('#/logs?scope=all&q=nothing');
    await filtered.getByTestId('logs-empty').waitFor({ timeout: 20_000 });
    expect(await filtered.getByTestId('logs-empty').textContent()).toBe('No line matches these filters.');
  });

  it('focuses the text box on /, as the run page does', async () => {
    const page = await suite.tab('#/logs');
    await page.getByTestId('logs-empty').waitFor({ timeout: 20_000 });
    await page.keyboard.press('/');
    await page.keyboard.type('typed');
    expect(await page.getByTestId('logs-q').inputValue()).toBe('typed');
  });
});
