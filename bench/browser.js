/**
 * Browser: the web UI's log viewer on a 1M-line run, in Debian's chromium (/usr/bin/chromium,
 * headless) driven by playwright-core, against a real hub in its own process
 * (`bin/runlog server --port 0`). The 1M lines are written straight into the hub's store
 * (SqliteStore.appendRecords, batches of 10,000) before the hub starts: a real run would take
 * minutes to print them and would measure capture, not the page.
 *
 * 1. Time to first lines: navigation start → the first frame with a log row on screen (an init
 *    script watches the DOM from the first byte; the time is that of the animation frame after a
 *    row inside the log box appears, i.e. the frame that paints it). Each load is cold: a new
 *    browser context, so no cache and no storage. Baseline: the same page for an empty run,
 *    navigation start → the first frame with the run's header (its status badge). Interleaved,
 *    median (min – max) of LOADS loads each. Goal: < 1 s.
 * 2. The tab's JS heap after scrolling through: the 1M-line run opened at its tail, then scrolled
 *    up to the top of what is loaded, again and again, so that the viewer fetches page after page
 *    (SCROLL_LINES lines in all, past its 50,000-line cap, so that it drops lines); then a GC
 *    (CDP HeapProfiler.collectGarbage) and CDP Performance.getMetrics JSHeapUsedSize. Baseline:
 *    the empty run's page, the same way. Goal: < 150 MB.
 * 3. Frames while 5,000 lines/s arrive: bench/children/ticker.js prints RATE lines a second for
 *    SECONDS s under `bin/runlog run --hub`; the run's page is open, following; a
 *    requestAnimationFrame loop in the page records every frame's duration over the whole run.
 *    Baseline: the same loop on the finished empty run's page (idle) for as long.
 *    Goal: frames under 50 ms (p99 < 50 ms; the max and the count of longer frames are shown).
 *
 *   npm run build && node bench/browser.js
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubProcess } from './hub-process.js';
import { fixed, int, isMain, markdownTable, percentile, printResult, removeDir, summary, tempDir } from './lib.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1400, height: 900 };
const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));
const TICKER = fileURLToPath(new URL('./children/ticker.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

const LINES = 1_000_000;
const BATCH = 10_000;
const LOADS = 5;
/** lines scrolled through, from the tail up: twice the viewer's 50,000-line cap */
const SCROLL_LINES = 100_000;
const RATE = 5_000;
const SECONDS = 10;
const FRAME_RUNS = 3;
const GOAL = { firstLinesMs: 1000, heapMB: 150, frameMs: 50 };
const BIG = 'bench-1m';
const EMPTY = 'bench-empty';

export async function run({ loads = LOADS, scrollLines = SCROLL_LINES, rate = RATE, seconds = SECONDS, frameRuns = FRAME_RUNS } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`browser bench: ${CHROMIUM} not found (apt-get install chromium)`);
  if (!existsSync(join(DIST, '..', 'web', 'dist', 'index.html'))) throw new Error('browser bench: web/dist is missing: run `npm run build` first');
  const { chromium } = await import('playwright-core');
  const dir = tempDir('browser');
  await fillStore(dir);
  const hub = await startHubProcess('browser', dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const first = { big: [], empty: [], bigHeader: [] };
    for (let i = 0; i < loads; i++) {
      first.empty.push((await coldLoad(browser, `${hub.url}/#/runs/${EMPTY}`, '[data-testid="run-status"]')).ms);
      const big = await coldLoad(browser, `${hub.url}/#/runs/${BIG}`, '[data-testid="log-row"]', '[data-testid="run-status"]');
      first.big.push(big.ms);
      first.bigHeader.push(big.alsoMs);
    }
    const heap = { empty: await heapOf(browser, `${hub.url}/#/runs/${EMPTY}`, 0), big: await heapOf(browser, `${hub.url}/#/runs/${BIG}`, scrollLines) };
    const frames = { idle: [], loaded: [], live: [] };
    for (let r = 0; r < frameRuns; r++) {
      frames.idle.push(await idleFrames(browser, `${hub.url}/#/runs/${EMPTY}`, seconds));
      frames.loaded.push(await framesDuringRun(browser, hub.url, dir, `bench-elsewhere-${r}`, { rate, seconds, watch: false }));
      frames.live.push(await framesDuringRun(browser, hub.url, dir, `bench-live-${r}`, { rate, seconds, watch: true }));
    }
    return report({ first, heap, frames }, { loads, scrollLines, rate, seconds, frameRuns });
  } finally {
    await browser.close();
    await hub.stop();
    removeDir(dir);
  }
}

/** The 1M-line run and an empty one, written into the store of `dir` (the hub opens it after). */
async function fillStore(dir) {
  const { SqliteStore } = await import(`${DIST}store/sqlite/store.js`);
  const { databaseFile } = await import(`${DIST}core/config.js`);
  const store = new SqliteStore(databaseFile(dir));
  const start = Date.now() * 1000 - LINES * 1000;
  await store.upsertRun({ id: EMPTY, name: 'empty run', command: 'true', status: 'running', started_at: start });
  await store.finishRun(EMPTY, { status: 'completed', exit_code: 0, completed_at: start + 1000 });
  await store.upsertRun({ id: BIG, name: '1M lines', command: 'python3 train.py', status: 'running', started_at: start });
  for (let first = 1; first <= LINES; first += BATCH) {
    const records = [];
    for (let seq = first; seq < first + BATCH && seq <= LINES; seq++) {
      const loss = (2 / (1 + (seq % 1000) / 50)).toFixed(5);
      records.push({
        stream: BIG,
        seq,
        timestamp: start + seq * 1000,
        level: seq % 97 === 0 ? 'WARNING' : 'INFO',
        message: `step ${String(seq).padStart(7, '0')} loss=${loss} lr=3.0e-04 grad_norm=1.2345 tokens/s=51234`,
        source: 'stdout',
        phase: 'run',
      });
    }
    await store.appendRecords(BIG, records);
  }
  await store.finishRun(BIG, { status: 'completed', exit_code: 0, completed_at: start + LINES * 1000 });
  await store.close();
}

async function newPage(browser) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'dark' });
  return { context, page: await context.newPage() };
}

/**
 * A cold load of `url`: ms from navigation start to the first frame in which `selector` is inside
 * the viewport (and the same for `also`, if given).
 */
async function coldLoad(browser, url, selector, also) {
  const { context, page } = await newPage(browser);
  try {
    await page.addInitScript(
      ([wanted, alsoWanted]) => {
        const seen = {};
        globalThis.__firstSeen = seen;
        const onScreen = (sel) => {
          for (const element of document.querySelectorAll(sel)) {
            const rect = element.getBoundingClientRect();
            if (rect.bottom > 0 && rect.top < innerHeight && rect.height > 0) return true;
          }
          return false;
        };
        const look = () => {
          for (const sel of [wanted, alsoWanted]) {
            if (sel === undefined || seen[sel] !== undefined || !onScreen(sel)) continue;
            seen[sel] = -1; // painted in the next frame
            requestAnimationFrame((time) => (seen[sel] = time));
          }
        };
        new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
      },
      [selector, also],
    );
    await page.goto(url);
    const wanted = [selector, also].filter((sel) => sel !== undefined);
    await page.waitForFunction((sels) => sels.every((sel) => (globalThis.__firstSeen[sel] ?? -1) > 0), wanted, { timeout: 30_000 });
    const seen = await page.evaluate(() => globalThis.__firstSeen);
    return { ms: seen[selector], alsoMs: also === undefined ? undefined : seen[also] };
  } finally {
    await context.close();
  }
}

/** The page's JS heap (MB) after opening `url` and scrolling up through `lines` lines, then a GC. */
async function heapOf(browser, url, lines) {
  const { context, page } = await newPage(browser);
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(url);
    await page.locator('[data-testid="run-status"]').waitFor({ timeout: 30_000 });
    let status = '';
    if (lines > 0) {
      await page.locator('[data-testid="log-row"]').first().waitFor({ timeout: 30_000 });
      const last = Number(await page.locator('[data-testid="log-row"]').last().getAttribute('data-seq'));
      // to the top of what is loaded, again and again: each time the viewer fetches the page before
      const reached = await page.evaluate(async ({ target, timeoutMs }) => {
        const box = document.querySelector('[data-testid="log-scroll"]');
        const deadline = performance.now() + timeoutMs;
        const oldest = () => Math.min(...[...document.querySelectorAll('[data-testid="log-row"]')].map((row) => Number(row.dataset.seq)));
        while (oldest() > target && performance.now() < deadline) {
          box.scrollTop = 0;
          box.dispatchEvent(new Event('scroll'));
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
        return oldest();
      }, { target: last - lines, timeoutMs: 180_000 });
      if (reached > last - lines) throw new Error(`browser bench: scrolled up only to line ${reached} (wanted ${last - lines})`);
      status = (await page.getByTestId('log-status').textContent()) ?? '';
      if (!/dropped to save memory/.test(status)) throw new Error(`browser bench: the viewer's cap did not trigger: "${status}"`);
    }
    const before = await jsHeap(cdp);
    await cdp.send('HeapProfiler.collectGarbage');
    const after = await jsHeap(cdp);
    return { beforeGcMB: before / 2 ** 20, afterGcMB: after / 2 ** 20, status };
  } finally {
    await context.close();
  }
}

async function jsHeap(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((metric) => metric.name === 'JSHeapUsedSize').value;
}

/** Installs a requestAnimationFrame loop that records each frame's duration (ms). */
function recordFrames(page) {
  return page.evaluate(() => {
    const durations = [];
    globalThis.__frames = durations;
    let last;
    const tick = (time) => {
      if (last !== undefined) durations.push(time - last);
      last = time;
      if (!globalThis.__framesStop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

async function takeFrames(page) {
  return page.evaluate(() => {
    globalThis.__framesStop = true;
    return globalThis.__frames;
  });
}

/** Baseline: frames of a page where nothing happens (a finished empty run), for `seconds`. */
async function idleFrames(browser, url, seconds) {
  const { context, page } = await newPage(browser);
  try {
    await page.goto(url);
    await page.locator('[data-testid="run-status"]').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    await recordFrames(page);
    await page.waitForTimeout(seconds * 1000);
    return frameStats(await takeFrames(page));
  } finally {
    await context.close();
  }
}

/**
 * Frames while a run prints `rate` lines/s for `seconds`: with `watch`, on that run's page
 * (following); without, on the idle empty run's page (the same load on the machine, no viewer work).
 */
async function framesDuringRun(browser, hubUrl, dir, id, { rate, seconds, watch }) {
  // the ticker's first line comes 2 s after it starts: time for the page to open and follow
  const cli = spawn(process.execPath, [CLI, 'run', '--hub', hubUrl, '--quiet', '--data', join(dir, id), '--id', id, '--', process.execPath, TICKER, String(rate), String(seconds), '2000'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const closed = once(cli, 'close');
  const { context, page } = await newPage(browser);
  try {
    const deadline = performance.now() + 15_000;
    while ((await fetch(`${hubUrl}/api/runs/${id}`)).status !== 200) {
      if (performance.now() > deadline) throw new Error(`browser bench: run ${id} did not appear on the hub`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (watch) {
      await page.goto(`${hubUrl}/#/runs/${id}`);
      await page.locator('[data-testid="stream-state"][data-state="live"]').waitFor({ timeout: 15_000 });
    } else {
      await page.goto(`${hubUrl}/#/runs/${EMPTY}`);
      await page.locator('[data-testid="run-status"]').waitFor({ timeout: 15_000 });
    }
    await recordFrames(page);
    const [code] = await closed;
    if (code !== 0) throw new Error(`browser bench: runlog run exited ${code}`);
    const frames = await takeFrames(page);
    // the viewer kept up: it ends at the run's last line
    if (watch) await page.locator(`[data-testid="log-row"][data-seq="${rate * seconds}"]`).waitFor({ timeout: 30_000 });
    return frameStats(frames);
  } finally {
    if (cli.exitCode === null) cli.kill('SIGTERM');
    await context.close();
  }
}

function frameStats(durations) {
  const sorted = [...durations].sort((a, b) => a - b);
  return {
    frames: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    long: sorted.filter((ms) => ms >= GOAL.frameMs).length,
  };
}

function report({ first, heap, frames }, { loads, scrollLines, rate, seconds, frameRuns }) {
  const big = summary(first.big);
  const empty = summary(first.empty);
  const header = summary(first.bigHeader);
  const range = (s, digits = 0) => (digits === 0 ? `${int(s.min)} – ${int(s.max)}` : `${fixed(s.min, digits)} – ${fixed(s.max, digits)}`);
  // frames: the median over repetitions of each repetition's p50, p99, max
  const of = (key, stat) => summary(frames[key].map((r) => r[stat]));
  const live = { p50: of('live', 'p50'), p99: of('live', 'p99'), max: of('live', 'max') };
  const loaded = { p50: of('loaded', 'p50'), p99: of('loaded', 'p99'), max: of('loaded', 'max') };
  const idle = { p50: of('idle', 'p50'), p99: of('idle', 'p99'), max: of('idle', 'max') };
  const long = (key) => `${frames[key].reduce((n, r) => n + r.long, 0)} of ${int(frames[key].reduce((n, r) => n + r.frames, 0))}`;
  const firstMet = big.median < GOAL.firstLinesMs;
  const heapMet = heap.big.afterGcMB < GOAL.heapMB;
  const framesMet = live.p99.median < GOAL.frameMs;
  const ms = (s) => `${fixed(s.median, 1)} ms`;
  const rows = [
    ['first lines on screen, 1M-line run (cold load)', `${int(big.median)} ms`, range(big), `${int(empty.median)} ms (empty run: header)`, `${fixed(big.median / empty.median)}×`, `< ${GOAL.firstLinesMs} ms`],
    ['its header on screen', `${int(header.median)} ms`, range(header), `${int(empty.median)} ms`, `${fixed(header.median / empty.median)}×`, ''],
    [
      `JS heap after scrolling up ${int(scrollLines)} lines, after GC`,
      `${fixed(heap.big.afterGcMB, 1)} MB`,
      `(${fixed(heap.big.beforeGcMB, 1)} MB before GC)`,
      `${fixed(heap.empty.afterGcMB, 1)} MB (empty run)`,
      `${fixed(heap.big.afterGcMB / heap.empty.afterGcMB)}×`,
      `< ${GOAL.heapMB} MB`,
    ],
    [`frame p50 while ${int(rate)} lines/s arrive`, ms(live.p50), range(live.p50, 1), `${ms(idle.p50)} idle · ${ms(loaded.p50)} run elsewhere`, `${fixed(live.p50.median / idle.p50.median)}×`, ''],
    ['frame p99', ms(live.p99), range(live.p99, 1), `${ms(idle.p99)} idle · ${ms(loaded.p99)} run elsewhere`, `${fixed(live.p99.median / idle.p99.median)}×`, `< ${GOAL.frameMs} ms`],
    ['frame max', ms(live.max), range(live.max, 1), `${ms(idle.max)} idle · ${ms(loaded.max)} run elsewhere`, `${fixed(live.max.median / idle.max.median)}×`, ''],
    [`frames ≥ ${GOAL.frameMs} ms, all repetitions`, long('live'), '', `${long('idle')} idle · ${long('loaded')} run elsewhere`, '', ''],
  ];
  const met = firstMet && heapMet && framesMet;
  const summaryText =
    `first lines of a 1M-line run on screen in ${int(big.median)} ms (goal < ${GOAL.firstLinesMs}); ` +
    `${fixed(heap.big.afterGcMB, 1)} MB of JS heap after scrolling through ${int(scrollLines)} lines (goal < ${GOAL.heapMB}); ` +
    `frames p99 ${fixed(live.p99.median, 1)} ms, max ${fixed(live.max.median, 1)} ms at ${int(rate)} lines/s (goal < ${GOAL.frameMs} ms).`;
  const capNote = heap.big.status.replace(/\s*\/\s*search.*$/, '').trim();
  return {
    key: 'browser',
    title: 'Browser: the log viewer on a 1M-line run',
    about:
      `Debian's chromium, headless, driven by playwright-core (${VIEWPORT.width}×${VIEWPORT.height}), against a hub in its own process ` +
      `(\`bin/runlog server --port 0\`) holding a finished run of ${int(LINES)} lines written straight into its store. ` +
      `First lines: navigation start → the first frame with a log row on screen, cold loads (a new browser context each), median ` +
      `(min – max) of ${loads}; baseline: an empty run's page, navigation start → its header on screen. ` +
      `Heap: CDP JSHeapUsedSize after scrolling up from the tail through ${int(scrollLines)} lines (the viewer keeps at most 50,000; ` +
      `its status line then read "${capNote}") and a forced GC; baseline: the empty run's page. ` +
      `Frames: a requestAnimationFrame loop in the page of a run printing ${int(rate)} lines/s for ${seconds} s ` +
      `(bench/children/ticker.js under \`bin/runlog run --hub\`), following; baselines: the idle empty run's page, alone and while ` +
      `the same run prints unwatched (the same load on the machine, no viewer work); median (min – max) over ${frameRuns} repetitions ` +
      `of each one's p50, p99 and max. Goals: first lines < ${GOAL.firstLinesMs} ms, heap < ${GOAL.heapMB} MB, frames under ${GOAL.frameMs} ms (p99).`,
    table: markdownTable(['measure', 'viewer', 'min – max', 'baseline', 'ratio to idle baseline', 'goal'], rows),
    verdict: `**${met ? 'Goal met' : 'Goal not met'}**: ${summaryText}`,
    met,
  };
}

if (isMain(import.meta.url)) printResult(await run());
