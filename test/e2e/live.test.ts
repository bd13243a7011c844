/**
 * The run page in a real browser against a real hub and real runs (`bin/runlog run`): live lines,
 * a tqdm bar, ANSI colours, hostile lines, follow mode, the level filter, a failed run's header,
 * the error jumps and the keys.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { FIXTURES, getJson, PYTHON, tempDir, waitFor, type CliResult } from '../helpers.js';
import { errorsOf, exitCodeOf, gate, hashOf, renderedSeqs, runOnHub, visibleSeqs, type PageElement, type PageGlobals } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

interface RunState {
  status: string;
  line_count: number;
}

describeInBrowser('the run page, live', () => {
  const suite = useHubAndBrowser();
  const running: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];
  afterEach(() => {
    for (const run of running.splice(0)) run.child.kill('SIGTERM'); // the run is cancelled, its command stopped
  });

  /**
   * `bin/runlog run` of a Python script on the suite's hub; resolves once the hub knows the run,
   * to `{ run }`: the run's end (a bare promise would be awaited through).
   */
  async function startRun(id: string, script: string, args: string[] = []) {
    const file = join(tempDir(), `script_${id}.py`); // not tqdm.py: that would shadow the module
    writeFileSync(file, script);
    const run = runOnHub(suite.hub.url, id, tempDir(), [PYTHON, file, ...args]);
    running.push(run);
    await waitFor(async () => (await fetch(`${suite.hub.url}/api/runs/${id}`)).status === 200 || undefined, 20_000, `run ${id} on the hub`);
    return { run };
  }

  const runState = async (id: string) => (await getJson<RunState>(`${suite.hub.url}/api/runs/${id}`)).body;

  const tab = (path: string, colorScheme: 'light' | 'dark' = 'dark') => suite.tab(path, { colorScheme });

  it('shows lines live while a run prints, and its status going from running to completed', async () => {
    // 5 lines, then (once the page is open) 40 more, one every 0.1 s
    const go = gate();
    const { run } = await startRun('live', `import time\nfor i in range(1, 6):\n    print(f"tick {i}", flush=True)\n${go.python}for i in range(6, 46):\n    print(f"tick {i}", flush=True)\n    time.sleep(0.1)\n`);
    const page = await tab('#/runs/live');
    await page.getByTestId('run-status').and(page.locator('[data-status="running"]')).waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="stream-state"][data-state="live"]').waitFor({ timeout: 20_000 });
    go.open();

    // while the hub still says "running": the newest row on screen moves on, more than once
    const seenWhileRunning: number[] = [];
    await waitFor(async () => {
      const seqs = await renderedSeqs(page);
      const newest = seqs.at(-1);
      const { status } = await runState('live');
      if (status !== 'running') throw new Error(`the run ended before lines were seen arriving (saw ${seenWhileRunning.join(', ')})`);
      if (newest !== undefined && newest !== seenWhileRunning.at(-1)) seenWhileRunning.push(newest);
      return seenWhileRunning.length >= 3 || undefined;
    }, 20_000, 'rows arriving while the run runs');
    expect(seenWhileRunning).toEqual([...seenWhileRunning].sort((a, b) => a - b));
    expect(await page.getByTestId('stream-state').getAttribute('data-state')).toBe('live');

    expect(await exitCodeOf(run)).toBe(0);
    await page.getByTestId('run-status').and(page.locator('[data-status="completed"]')).waitFor({ timeout: 20_000 });
    await page.getByTestId('run-end').waitFor({ timeout: 10_000 });
    // following: the last line is on screen, with the lines before it in order
    await expect.poll(async () => (await visibleSeqs(page)).at(-1), { timeout: 10_000 }).toBe(45);
    const visible = await visibleSeqs(page);
    expect(visible).toEqual(Array.from({ length: visible.length }, (_, i) => 46 - visible.length + i));
    await expect.poll(() => page.getByTestId('stream-state').getAttribute('data-state')).toBe('ended');
    // the clock on screen; the full timestamp on hovering it
    const lastTs = page.locator('[data-testid="log-row"][data-seq="45"] .ts');
    await lastTs.hover();
    expect(await lastTs.getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    expect(errorsOf(page)).toEqual([]);
  });

  it('shows a tqdm bar as one line that updates in place, then its stored 100% line', async () => {
    // the bar starts once the page watches
    const go = gate();
    const { run } = await startRun(
      'tqdm',
      `import time\nfrom tqdm import tqdm\nprint("before the bar", flush=True)\n${go.python}` +
        'for _ in tqdm(range(100), mininterval=0.05):\n    time.sleep(0.05)\nprint("after the bar", flush=True)\n',
    );
    const page = await tab('#/runs/tqdm');
    await page.getByTestId('log-row').first().waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="stream-state"][data-state="live"]').waitFor({ timeout: 20_000 });
    // watch every change of the DOM: how many progress rows there are, and what they say
    await page.evaluate(() => {
      const window = globalThis as unknown as PageGlobals;
      const { document } = window;
      const seen = { most: 0, texts: [] as string[] };
      window.__progress = seen;
      const look = () => {
        const rows = document.querySelectorAll('[data-testid="progress-row"]');
        seen.most = Math.max(seen.most, rows.length);
        const text = rows[0]?.textContent ?? null;
        if (text !== null && text !== seen.texts.at(-1)) seen.texts.push(text);
      };
      new window.MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
      look();
    });
    go.open();

    expect(await exitCodeOf(run)).toBe(0);
    // the end row comes with the last lines, never before them
    await page.getByTestId('run-end').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('log-row').filter({ hasText: 'after the bar' }).count()).toBe(1);
    const progress = (await page.evaluate(() => (globalThis as unknown as PageGlobals).__progress)) as { most: number; texts: string[] };
    expect(progress.most).toBe(1);
    expect(progress.texts.length).toBeGreaterThanOrEqual(2); // it changed in place
    expect(progress.texts.some((text) => /\d+%\|/.test(text))).toBe(true);
    // at the end: no live bar, and the bar's last state as one stored line between the two prints
    expect(await page.getByTestId('progress-row').count()).toBe(0);
    const rows = await page.getByTestId('log-row').allTextContents();
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('before the bar');
    expect(rows[1]).toContain('100%');
    expect(rows[1]).toContain('100/100');
    expect(rows[2]).toContain('after the bar');
    expect(errorsOf(page)).toEqual([]);
  });

  it('renders ANSI red as red, in the dark and the light theme', async () => {
    const { run } = await startRun('ansi', 'print("plain, then \\x1b[31mALARM in red\\x1b[0m, then plain again", flush=True)\n');
    expect(await exitCodeOf(run)).toBe(0);
    for (const scheme of ['dark', 'light'] as const) {
      const page = await tab('#/runs/ansi', scheme);
      const red = page.getByTestId('log-row').locator('span', { hasText: /^ALARM in red$/ });
      await red.waitFor({ timeout: 20_000 });
      const [r, g, b] = await red.evaluate((element) => ((globalThis as unknown as PageGlobals).getComputedStyle(element as unknown as PageElement).color.match(/\d+(\.\d+)?/g) ?? []).map(Number));
      expect(r, `${scheme}: rgb(${r}, ${g}, ${b})`).toBeGreaterThan(120);
      expect(r! - Math.max(g!, b!), `${scheme}: rgb(${r}, ${g}, ${b})`).toBeGreaterThan(60);
      // the escape codes themselves are not shown, the rest of the line is
      const text = await page.getByTestId('log-row').first().textContent();
      expect(text).toContain('plain, then ALARM in red, then plain again');
      expect(text).not.toContain('[31m');
    }
  });

  it('keeps hostile lines as text: no script runs, no element or link is made', async () => {
    const hostile = [
      '<script>window.__pwned=1</script>',
      '<img src=x onerror="window.__pwned=1">',
      '\\x1b]8;;javascript:window.__pwned=1\\x07click\\x1b]8;;\\x07',
      '<a href="javascript:window.__pwned=1" id="evil">anchor</a>',
      '\\x1b]0;window title\\x07<svg onload="window.__pwned=1"></svg>',
    ];
    const { run } = await startRun('hostile', hostile.map((line) => `print(${JSON.stringify(line).replace(/\\\\x/g, '\\x')}, flush=True)\n`).join(''));
    expect(await exitCodeOf(run)).toBe(0);
    const page = await tab('#/runs/hostile');
    await page.getByTestId('run-end').waitFor({ timeout: 20_000 });
    const rows = await page.getByTestId('log-row').allTextContents();
    expect(rows).toHaveLength(5);
    expect(rows[0]).toContain('<script>window.__pwned=1</script>');
    expect(rows[1]).toContain('<img src=x onerror="window.__pwned=1">');
    expect(rows[2]).toMatch(/click$/);
    expect(rows[2]).not.toContain('javascript');
    expect(rows[3]).toContain('<a href="javascript:window.__pwned=1" id="evil">anchor</a>');
    expect(rows[4]).toContain('<svg onload="window.__pwned=1"></svg>');
    expect(rows[4]).not.toContain('window title');

    // the OSC 8 "link" is plain text: clicking it does nothing
    await page.getByTestId('log-row').nth(2).locator('.msg').click();
    await page.waitForTimeout(300);
    const made = await page.evaluate(() => {
      const window = globalThis as unknown as PageGlobals;
      const log = window.document.querySelector('[data-testid="log-scroll"]')!;
      return {
        pwned: window.__pwned,
        elements: log.querySelectorAll('script, img, svg, iframe, object, embed, #evil').length,
        // the line numbers are the only links in the log
        links: [...log.querySelectorAll('a')].filter((a) => a.dataset.testid !== 'line-link' || !(a.getAttribute('href') ?? '').startsWith('#/runs/hostile/L')).length,
      };
    });
    expect(made).toEqual({ pwned: undefined, elements: 0, links: 0 });
    expect(errorsOf(page)).toEqual([]);
  });

  it('pauses following when scrolled up, counts the new lines, and jumps back on a click', async () => {
    // 120 lines, then (once the test has scrolled up) 180 more, one every 0.02 s
    const go = gate();
    const { run } = await startRun('follow', `import time\nfor i in range(1, 121):\n    print(f"line {i}", flush=True)\n${go.python}for i in range(121, 301):\n    print(f"line {i}", flush=True)\n    time.sleep(0.02)\n`);
    const page = await tab('#/runs/follow');
    const follow = page.getByTestId('follow-toggle');
    await waitFor(async () => ((await renderedSeqs(page)).at(-1) ?? 0) >= 120 || undefined, 30_000, '120 lines on screen');
    await page.locator('[data-testid="stream-state"][data-state="live"]').waitFor({ timeout: 20_000 });
    expect(await follow.getAttribute('aria-pressed')).toBe('true');

    await page.getByTestId('log-scroll').hover();
    await page.mouse.wheel(0, -400); // well past the 40 px that pause following
    await expect.poll(() => follow.getAttribute('aria-pressed'), { timeout: 5_000 }).toBe('false');
    const pausedAt = await visibleSeqs(page);
    go.open();
    const newLines = page.getByTestId('new-lines');
    await expect.poll(async () => Number(/([\d,]+) new line/.exec((await newLines.textContent({ timeout: 10_000 })) ?? '')?.[1]?.replace(/,/g, '') ?? 0), { timeout: 10_000 }).toBeGreaterThan(5);
    // paused means the view stays where the user put it while lines keep coming
    await page.waitForTimeout(500);
    expect((await visibleSeqs(page))[0]).toBe(pausedAt[0]);

    await newLines.click();
    await expect.poll(() => follow.getAttribute('aria-pressed')).toBe('true');
    await expect(newLines.count()).resolves.toBe(0);
    expect(await exitCodeOf(run)).toBe(0);
    await page.getByTestId('run-end').waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await visibleSeqs(page)).at(-1), { timeout: 10_000 }).toBe(300);
    expect(errorsOf(page)).toEqual([]);
  });

  /** levels_traceback.py: a line at each level, a tqdm bar, a traceback, exit code 3 (run once, shared) */
  let levelsRun: Promise<CliResult> | undefined;
  const failedRun = async () => {
    levelsRun ??= runOnHub(suite.hub.url, 'levels', tempDir(), [PYTHON, join(FIXTURES, 'levels_traceback.py')]);
    expect(await exitCodeOf(levelsRun)).toBe(3);
  };

  it('filters by level: WARNING and above hides INFO rows', async () => {
    await failedRun();
    const page = await tab('#/runs/levels');
    await page.getByTestId('run-end').waitFor({ timeout: 20_000 });
    const levels = () => page.$$eval('[data-testid="log-row"]', (rows) => rows.map((row) => (row as unknown as PageElement).dataset.level));
    expect(await levels()).toContain('INFO');
    await page.getByTestId('level-filter').selectOption('WARNING');
    await expect.poll(async () => (await levels()).includes('INFO'), { timeout: 10_000 }).toBe(false);
    const shown = await levels();
    expect(shown.length).toBeGreaterThanOrEqual(3);
    expect(new Set(shown)).toEqual(new Set(['WARNING', 'ERROR', 'CRITICAL']));
    expect(errorsOf(page)).toEqual([]);
  });

  it('says where a run runs: "local" for runlog run, "not claimed yet" for a queued task', async () => {
    const submitted = await fetch(`${suite.hub.url}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'waiting-task', command: ['true'] }), // no worker on this hub: it stays queued
    });
    expect(submitted.status).toBe(201);
    const page = await tab('#/runs/waiting-task');
    await page.getByTestId('run-status').and(page.locator('[data-status="queued"]')).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('run-worker').textContent()).toBe('not claimed yet');

    const { run } = await startRun('ran-here', 'print("hello")\n');
    expect(await exitCodeOf(run)).toBe(0);
    await page.goto(`${suite.hub.url}/#/runs`);
    const cell = (id: string) => page.locator(`[data-testid="run-row"][data-run-id="${id}"] [data-testid="run-worker"]`);
    await expect.poll(() => cell('ran-here').textContent(), { timeout: 20_000 }).toBe('local');
    expect(await cell('waiting-task').textContent()).toBe('not claimed yet');
  });

  it("shows a failed run's error first and its diagnostics below", async () => {
    await failedRun();
    const page = await tab('#/runs/levels');
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 20_000 }).toBe('failed');
    await expect.poll(() => page.getByTestId('run-error').textContent()).toContain('RuntimeError: training step failed');
    const diagnostics = page.getByTestId('diagnostics');
    await diagnostics.waitFor({ timeout: 10_000 });
    // the error sits above the diagnostics, and the diagnostics open on a click
    const errorBox = (await page.getByTestId('run-error').boundingBox())!;
    expect(errorBox.y).toBeLessThan((await diagnostics.boundingBox())!.y);
    await diagnostics.locator('summary').click();
    await expect.poll(() => diagnostics.evaluate((element) => (element as unknown as PageElement).open)).toBe(true);
    await expect.poll(() => diagnostics.locator('[data-probe="commands"]').count()).toBe(1);
    expect(errorsOf(page)).toEqual([]);
  });

  it('jumps to the first error, then to the next and the previous one, by link', async () => {
    await failedRun();
    const page = await tab('#/runs/levels');
    await page.getByTestId('run-end').waitFor({ timeout: 20_000 });
    const targetOf = async () => [await hashOf(page), await page.$$eval('[data-testid="log-row"].target', (rows) => rows.map((row) => (row as unknown as PageElement).dataset.seq).join(','))];
    // levels_traceback.py: ERROR on line 4, CRITICAL on 5, the traceback from line 8
    await page.getByTestId('first-error').click();
    await expect.poll(targetOf).toEqual(['#/runs/levels/L4', '4']);
    await page.getByTestId('next-error').click();
    await expect.poll(targetOf).toEqual(['#/runs/levels/L5', '5']);
    await page.getByTestId('next-error').click();
    await expect.poll(targetOf).toEqual(['#/runs/levels/L8', '8']);
    await page.getByTestId('prev-error').click();
    await expect.poll(targetOf).toEqual(['#/runs/levels/L5', '5']);
    expect(errorsOf(page)).toEqual([]);
  });

  it('answers its keys: / searches, g goes to the top, G back to the end, f toggles following', async () => {
    const { run } = await startRun('keys', 'for i in range(1, 301):\n    print(f"key line {i}")\n');
    expect(await exitCodeOf(run)).toBe(0);
    const page = await tab('#/runs/keys');
    await page.getByTestId('run-end').waitFor({ timeout: 20_000 });
    const follow = page.getByTestId('follow-toggle');
    await page.getByTestId('log-scroll').click();
    await page.keyboard.press('g');
    await expect.poll(async () => (await visibleSeqs(page))[0]).toBe(1);
    expect(await follow.getAttribute('aria-pressed')).toBe('false');
    await page.keyboard.press('G');
    await expect.poll(async () => (await visibleSeqs(page)).at(-1)).toBe(300);
    expect(await follow.getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('f');
    await expect.poll(() => follow.getAttribute('aria-pressed')).toBe('false');
    await page.keyboard.press('/');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector(':focus')?.getAttribute('data-testid'))).toBe('search-input');
    // typed into the search, the keys are text, not shortcuts
    await page.keyboard.type('key line 17');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('search-status').textContent(), { timeout: 10_000 }).toBe('11 matches'); // 17, 170–179
    expect(await page.getByTestId('search-input').inputValue()).toBe('key line 17');
    // Tab goes on to the page's controls, not through the line numbers on screen
    await page.getByTestId('log-scroll').click();
    const focused: (string | null | undefined)[] = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector(':focus')?.getAttribute('data-testid')));
    }
    expect(focused).not.toContain('line-link');
    expect(errorsOf(page)).toEqual([]);
  });
});

