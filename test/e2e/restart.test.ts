/**
 * A hub restart in the middle of a run, seen from a browser: the viewer's stream drops, comes
 * back (EventSource with Last-Event-ID), and the view ends with every line exactly once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { RunningHub } from '../../src/server/listen.js';
import { getJson, hubOn, PYTHON, tempDir, waitFor } from '../helpers.js';
import { errorsOf, exitCodeOf, gate, renderedSeqs, runOnHub, seqsOfWholeView, sleep } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describeInBrowser('a hub restart under the viewer', () => {
  const suite = useBrowser();
  let hub: RunningHub | undefined; // this suite's own: it stops and starts it
  afterAll(async () => {
    await hub?.close();
  });

  it('loses nothing in the view: every line once, in order, after the hub stops and comes back mid-run', { timeout: 90_000 }, async () => {
    const dataDir = tempDir();
    hub = await hubOn(dataDir);
    const url = hub.url;
    const port = Number(new URL(url).port);
    const total = 2_000;
    const before = 600;
    // about 300 lines a second: `before` lines, a wait at the gate, then the rest. The outage
    // starts at the gate, so it is mid-run however slow the machine, and lines go on while it lasts
    const go = gate();
    const script = join(tempDir(), 'outage.py');
    writeFileSync(
      script,
      'import time\n' +
        `def lines(a, b):\n    for i in range(a, b + 1):\n        print(f"paced {i}", flush=True)\n        time.sleep(0.003)\n` +
        `lines(1, ${before})\n${go.python}lines(${before + 1}, ${total})\n`,
    );
    const run = runOnHub(url, 'outage', tempDir(), [PYTHON, script]);
    await waitFor(async () => (await fetch(`${url}/api/runs/outage`)).status === 200 || undefined, 20_000, 'the run on the hub');
    const page = await suite.open(`${url}/#/runs/outage`);
    await waitFor(async () => ((await renderedSeqs(page)).at(-1) ?? 0) >= before || undefined, 30_000, `${before} lines in the view`);
    await page.locator('[data-testid="stream-state"][data-state="live"]').waitFor();

    await hub.close();
    hub = undefined;
    go.open(); // the run goes on printing while the hub is away
    // the viewer notices: its stream is no longer live
    await page.locator('[data-testid="stream-state"]:not([data-state="live"])').waitFor({ timeout: 20_000 });
    await sleep(1_500);
    hub = await hubOn(dataDir, port);

    expect(await exitCodeOf(run)).toBe(0);
    const { body } = await getJson<{ status: string; line_count: number }>(`${url}/api/runs/outage`);
    expect(body).toMatchObject({ status: 'completed', line_count: total });
    await page.getByTestId('run-end').waitFor({ timeout: 30_000 });
    await expect.poll(async () => (await renderedSeqs(page)).at(-1), { timeout: 10_000 }).toBe(total);
    expect(await page.getByTestId('log-status').textContent()).toContain(`lines 1–2,000 · 2,000 in view · 2,000 in run`);
    // the whole list, scrolled through: 1..N, no gap, no duplicate
    const seqs = await seqsOfWholeView(page);
    const seen = new Set<number>();
    const duplicates = seqs.filter((seq) => seen.has(seq) || !seen.add(seq));
    expect({ missing: range(1, total).filter((seq) => !seen.has(seq)), duplicates }).toEqual({ missing: [], duplicates: [] });
    expect(seqs).toEqual(range(1, total));
    expect(errorsOf(page)).toEqual([]);
  });

  it("shows on the Logs page, live, the worker lines stored while the hub was away (the list is read again once the stream is back)", { timeout: 60_000 }, async () => {
    const dataDir = tempDir();
    hub = await hubOn(dataDir);
    const url = hub.url;
    const port = Number(new URL(url).port);
    const beat = async (on: RunningHub, message: string) => {
      const answer = await fetch(`${on.url}/api/workers/w-away/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'idle', logs: [{ timestamp: new Date().toISOString(), level: 'INFO', message }] }),
      });
      expect(answer.status).toBe(200);
    };
    await beat(hub, 'before the outage');
    for (const path of ['#/logs?live=1', '#/logs?worker=w-away&live=1']) {
      const page = await suite.open(`${url}/${path}`);
      const rows = page.getByTestId('system-log-row');
      await rows.filter({ hasText: 'before the outage' }).first().waitFor({ timeout: 20_000 });
      await page.locator('[data-testid="live-state"][data-state="open"]').waitFor({ timeout: 10_000 });
      await hub.close();
      hub = undefined;
      // another hub on the same data stores a line while this one is away
      const meanwhile = await hubOn(dataDir);
      await beat(meanwhile, `during the outage (${path})`);
      await meanwhile.close();
      await sleep(1_500);
      hub = await hubOn(dataDir, port);
      await rows.filter({ hasText: `during the outage (${path})` }).first().waitFor({ timeout: 20_000 });
      await beat(hub, `after the outage (${path})`);
      await rows.filter({ hasText: `after the outage (${path})` }).first().waitFor({ timeout: 20_000 });
      const texts = await rows.allTextContents();
      expect(texts.filter((text) => text.includes('before the outage'))).toHaveLength(1);
      expect(texts.filter((text) => text.includes(`during the outage (${path})`))).toHaveLength(1);
      expect(errorsOf(page)).toEqual([]);
    }
  });
});
