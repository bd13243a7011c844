/**
 * describeInBrowser(): how the e2e suites declare themselves; useBrowser() and useHubAndBrowser():
 * what they share, the browser (and hub) set up once and each test's tabs cleaned up after it. Without /usr/bin/chromium they are
 * skipped, saying so, except in strict mode (RUNLOG_TEST_STRICT=1, as CI runs), where a suite that
 * cannot run fails instead. Without the built web UI (web/dist) they fail: `npm test` builds first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../../src/server/listen.js';
import { hubOn, ROOT, tempDir } from '../helpers.js';
import { CHROMIUM, closeTab, launchBrowser, openTab, screenshotOnFailure } from './browser.js';

const STRICT = process.env.RUNLOG_TEST_STRICT === '1';

/**
 * describe() for a suite that needs the browser and the built web UI. Without chromium: skipped
 * with a message, or failing in strict mode. Without web/dist: failing (npm test builds first).
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (!existsSync(CHROMIUM)) {
    const why = `${CHROMIUM} not found (apt-get install chromium)`;
    if (STRICT) {
      describe(name, () => {
        it('needs chromium', () => {
          throw new Error(`${name}: ${why}; strict mode (RUNLOG_TEST_STRICT=1): not skipping`);
        });
      });
      return;
    }
    console.warn(`${name}: ${why}: skipping the browser tests`);
    describe.skip(name, body);
    return;
  }
  if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) {
    describe(name, () => {
      it('needs the built web UI', () => {
        throw new Error(`${name}: web/dist/index.html is missing: run \`npm run build\` first`);
      });
    });
    return;
  }
  describe(name, body);
}


type TabOptions = { colorScheme?: 'light' | 'dark' };

export interface SuiteBrowser {
  /** A new tab (its own context) at `url`, screenshotted if the test fails, closed after it. */
  open(url: string, options?: TabOptions): Promise<Page>;
}

export interface HubAndBrowser {
  readonly hub: RunningHub;
  /** A new tab at `path` on the hub, as SuiteBrowser.open() */
  tab(path: string, options?: TabOptions): Promise<Page>;
}

/** POSTs `body` as JSON to the hub's `path` and expects it taken (2xx; the hub's answer in the failure). */
export async function postToHub(hub: { url: string }, path: string, body: object): Promise<void> {
  const answer = await fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(answer.status, await answer.clone().text()).toBeLessThan(300);
}

/** For a suite's tests: one browser for the whole suite, and the tabs each test opens. */
export function useBrowser(): SuiteBrowser {
  let browser: Browser | undefined;
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
  });
  return {
    async open(url, options) {
      const page = await openTab(started(browser), url, options);
      tabs.push(page);
      return page;
    },
  };
}

/** useBrowser(), and one hub (a fresh data dir) for the whole suite. */
export function useHubAndBrowser(): HubAndBrowser {
  let hub: RunningHub | undefined;
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => {
    await hub?.close();
  });
  const browser = useBrowser();
  return {
    get hub() {
      return started(hub);
    },
    tab: (path, options) => browser.open(`${started(hub).url}/${path}`, options),
  };
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the suite has not started: use its hub and browser inside tests');
  return value;
}
