/**
 * The browser side of the end-to-end tests and of screenshots.ts: Debian's chromium
 * (/usr/bin/chromium) driven by playwright-core, never a browser playwright downloads; what the
 * suites do with a page (open a tab on a hub, read the rows on screen, scroll the log through)
 * and with runs (start `bin/runlog run`, write a big run into a store). No vitest import here, so
 * that screenshots.ts can use it outside vitest; the suites' describe() is in suite.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LogRecord } from '../../src/core/record.js';
import type { Store } from '../../src/store/store.js';
import { cli, type CliResult } from '../helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
/** the flags that keep chromium quiet and off the network on a closed machine */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const VIEWPORT = { width: 1400, height: 900 };

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

const pageErrors = new WeakMap<Page, string[]>();

/** A new tab (its own context: fresh storage) at `url`, 1400×900, recording uncaught page errors. */
export async function openTab(browser: Browser, url: string, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: options.colorScheme ?? 'dark' });
  const page = await context.newPage();
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (error) => errors.push(error.stack ?? error.message));
  await page.goto(url);
  return page;
}

/** The page's location.hash (the app's route). */
export function hashOf(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).location.hash);
}

/** Follows an in-app link: sets location.hash, as a click on a link does. */
export async function goToHash(page: Page, hash: string): Promise<void> {
  await page.evaluate((to) => ((globalThis as unknown as PageGlobals).location.hash = to), hash);
}

/** Uncaught errors the page threw so far (a test ends by expecting none). */
export function errorsOf(page: Page): string[] {
  return pageErrors.get(page) ?? [];
}

export async function closeTab(page: Page): Promise<void> {
  await page.context().close();
}

/** data-seq of the log rows in the DOM (the virtual list renders what is on screen and a little more). */
export function renderedSeqs(page: Page): Promise<number[]> {
  return page.$$eval('[data-testid="log-row"]', (rows) => rows.map((row) => Number((row as unknown as PageElement).dataset.seq)).sort((a, b) => a - b));
}

/** data-seq of the log rows inside the scroll box's visible area. */
export function visibleSeqs(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const box = document.querySelector('[data-testid="log-scroll"]')!.getBoundingClientRect();
    return [...document.querySelectorAll('[data-testid="log-row"]')]
      .filter((row) => {
        const rect = row.getBoundingClientRect();
        return rect.bottom > box.top + 1 && rect.top < box.bottom - 1;
      })
      .map((row) => Number(row.dataset.seq))
      .sort((a, b) => a - b);
  });
}

/**
 * Every line row of the view, in the order of the list, by scrolling the log box from top to
 * bottom and reading each row's list index (data-index): a duplicate shows up twice, a gap as a
 * missing seq.
 */
export async function seqsOfWholeView(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const { document, requestAnimationFrame } = globalThis as unknown as PageGlobals;
    const box = document.querySelector('[data-testid="log-scroll"]')!;
    const byIndex = new Map<number, number>();
    const frame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const read = () => {
      for (const row of document.querySelectorAll('[data-testid="log-row"]')) byIndex.set(Number(row.dataset.index), Number(row.dataset.seq));
    };
    box.scrollTop = 0;
    await frame();
    for (;;) {
      read();
      if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) break;
      box.scrollTop += Math.max(100, box.clientHeight - 100);
      await frame();
    }
    read();
    return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, seq]) => seq);
  });
}

/** `bin/runlog run --quiet --hub <hub> --id <id> --data <tmp> -- ARGS`; the child is `.child`. */
export function runOnHub(hub: string, id: string, dataDir: string, command: string[], extra: string[] = []): Promise<CliResult> & { child: import('node:child_process').ChildProcess } {
  return cli(['run', '--quiet', '--hub', hub, '--id', id, '--data', dataDir, ...extra, '--', ...command]);
}

/**
 * A finished run of `lines` lines written straight into a store (no child process: a million lines
 * through a real run would take minutes): batches of 10,000 through appendRecords, then finishRun.
 * Line `seq` reads `step 0000042 …`; every 97th is a WARNING.
 */
export async function writeBigRun(store: Store, id: string, lines: number, name = `${lines.toLocaleString('en-US')} lines`): Promise<void> {
  const start = Date.now() * 1000 - lines * 1000;
  await store.upsertRun({ id, name, command: 'python3 train.py --steps 1000000', status: 'running', started_at: start });
  const BATCH = 10_000;
  for (let first = 1; first <= lines; first += BATCH) {
    const records: LogRecord[] = [];
    for (let seq = first; seq < first + BATCH && seq <= lines; seq++) records.push(bigLine(id, seq, start));
    await store.appendRecords(id, records);
  }
  await store.finishRun(id, { status: 'completed', exit_code: 0, completed_at: start + lines * 1000 });
}

function bigLine(stream: string, seq: number, start: number): LogRecord {
  const loss = (2 / (1 + (seq % 1000) / 50)).toFixed(5);
  return {
    stream,
    seq,
    timestamp: start + seq * 1000,
    level: seq % 97 === 0 ? 'WARNING' : 'INFO',
    message: `step ${String(seq).padStart(7, '0')} loss=${loss} lr=3.0e-04 grad_norm=1.2345 tokens/s=51234`,
    source: 'stdout',
    phase: 'run',
  };
}

/**
 * The browser globals the in-page callbacks use, typed just enough. The repo's tsconfig has no DOM
 * lib (with it, src/ could use DOM globals unnoticed), so a callback given to page.evaluate() takes
 * them from `globalThis as unknown as PageGlobals`: a cast, gone once the callback is serialised.
 */
export interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  readonly clientHeight: number;
  readonly scrollHeight: number;
  scrollTop: number;
  /** a <details> */
  readonly open?: boolean;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { top: number; bottom: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { readonly length: number; [index: number]: PageElement | undefined };
}

export interface PageGlobals {
  document: PageElement & { body: PageElement };
  location: { hash: string };
  requestAnimationFrame(callback: (time: number) => void): number;
  getComputedStyle(element: PageElement): { color: string };
  MutationObserver: new (callback: () => void) => { observe(target: PageElement, options: { subtree?: boolean; childList?: boolean; characterData?: boolean }): void };
  [name: `__${string}`]: unknown;
}

/**
 * A gate a run's script waits at, opened by the test when the page is ready: the run goes on only
 * when the test wants it to, however slow a loaded machine makes the browser. `python` and `sh` are
 * the statements that wait (a minute at most, so that a failed test leaves no process behind).
 */
export function gate(): { path: string; python: string; sh: string; open(): void } {
  const path = join(mkdtempSync(join(tmpdir(), 'runlog-gate-')), 'open');
  return {
    path,
    python: `import os as _os, time as _time\n_until = _time.time() + 60\nwhile not _os.path.exists(${JSON.stringify(path)}) and _time.time() < _until:\n    _time.sleep(0.01)\n`,
    sh: `i=0; while [ ! -e '${path}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`,
    open: () => writeFileSync(path, ''),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** After a failed test: a screenshot of each tab in the temp dir, said on stderr (the page as the test left it). */
export async function screenshotOnFailure(failed: boolean, name: string, tabs: readonly Page[]): Promise<void> {
  if (!failed) return;
  for (const [index, page] of tabs.entries()) {
    const file = join(tmpdir(), `runlog-e2e-${name.replace(/[^\w.-]+/g, '_').slice(0, 80)}-${index}.png`);
    try {
      await page.screenshot({ path: file });
      console.warn(`e2e: "${name}" failed; the page: ${file}`);
    } catch {
      // the page is gone
    }
  }
}

/** The exit code of a finished run, or a failure naming its stderr. */
export async function exitCodeOf(run: Promise<CliResult>): Promise<number | null> {
  const result = await run;
  if (result.code !== 0 && result.stderr !== '') console.warn(`runlog run exited ${result.code}: ${result.stderr}`);
  return result.code;
}
