/**
 * Bidirectional controls a job prints (U+202E RIGHT-TO-LEFT OVERRIDE, the isolates U+2066–2069):
 * the viewer drew them as the browser applies them, so `user\u202Egpj.exe` read "userexe.jpg" and
 * a line could show text in another order than the one it holds ("Trojan Source"). They are shown
 * as their code points and not applied, in the run page, the search across runs and the worker
 * lines alike.
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

const SPOOF = 'saved user\u202Egpj.exe\u202C and \u2066isolated\u2069 bidispoof';
const SHOWN = 'saved user<U+202E>gpj.exe<U+202C> and <U+2066>isolated<U+2069> bidispoof';
const BIDI = /[\u202A-\u202E\u2066-\u2069]/;

describeInBrowser('bidirectional controls in a line', () => {
  const suite = useHubAndBrowser();
  const post = (path: string, body: object) =>
    fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  async function messages(page: Page, testId: string): Promise<string[]> {
    const rows = page.getByTestId(testId);
    await rows.first().waitFor({ timeout: 20_000 });
    return rows.locator('.msg').allTextContents();
  }

  it('are shown as code points, never applied: run page, search, worker lines', async () => {
    expect((await post('/api/runs', { id: 'spoof' })).status).toBe(201);
    expect((await post('/api/runs/spoof/logs', { records: [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: SPOOF }] })).status).toBe(200);
    expect((await post('/api/workers/spoof-w/heartbeat', { status: 'idle', logs: [{ timestamp: Date.now() / 1000, level: 'INFO', message: SPOOF }] })).status).toBe(200);

    for (const [path, testId, count] of [
      ['#/runs/spoof', 'log-row', 1],
      ['#/logs?scope=all&q=bidispoof', 'search-row', 2],
      ['#/logs?worker=spoof-w', 'system-log-row', 1],
    ] as const) {
      const page = await suite.tab(path);
      const shown = await messages(page, testId);
      expect(shown, path).toEqual(Array.from({ length: count }, () => SHOWN));
      for (const text of shown) expect(BIDI.test(text), path).toBe(false);
      expect(errorsOf(page)).toEqual([]);
    }
  });

  it('are shown as code points in a failed run\'s cause (its last stderr line), atop its page', async () => {
    expect((await post('/api/runs', { id: 'spoof-failed' })).status).toBe(201);
    expect((await post('/api/runs/spoof-failed/finish', { status: 'failed', exit_code: 1, error_message: SPOOF })).status).toBe(200);
    const page = await suite.tab('#/runs/spoof-failed');
    const cause = page.getByTestId('run-error');
    await cause.waitFor({ timeout: 20_000 });
    expect(await cause.textContent()).toBe(SHOWN);
  });

  it("are written out in a run's name and command (Runs page, run header) and in a worker line's tooltip", async () => {
    expect((await post('/api/runs', { id: 'spoof-named', name: SPOOF, command: SPOOF })).status).toBe(201);
    expect((await post('/api/workers/spoof-card/heartbeat', { status: 'idle', logs: [{ timestamp: Date.now() / 1000, level: 'INFO', message: SPOOF }] })).status).toBe(200);
    const runs = await suite.tab('#/runs');
    const row = runs.getByTestId('run-row').filter({ hasText: 'spoof-named' });
    await row.waitFor({ timeout: 20_000 });
    expect(await row.locator('td.name a').textContent()).toBe(SHOWN);
    expect(await row.locator('td.command').textContent()).toBe(SHOWN);
    expect(await row.locator('td.command').getAttribute('title')).toBe(SHOWN);
    const run = await suite.tab('#/runs/spoof-named');
    await run.locator('code.command').waitFor({ timeout: 20_000 }); // the run's header, not the one while it loads
    expect(await run.locator('h1').textContent()).toBe(SHOWN);
    expect(await run.locator('code.command').textContent()).toBe(SHOWN);
    const workers = await suite.tab('#/workers');
    const line = workers.locator('[data-worker-id="spoof-card"] .mini-line .msg').first();
    await line.waitFor({ timeout: 20_000 });
    expect(await line.getAttribute('title')).toBe(SHOWN);
    for (const page of [runs, run, workers]) expect(errorsOf(page)).toEqual([]);
  });
});
