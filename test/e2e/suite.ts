/**
 * describeInBrowser(): how the e2e suites declare themselves. Without /usr/bin/chromium they are
 * skipped, saying so, except in strict mode (RUNLOG_TEST_STRICT=1, as CI runs), where a suite that
 * cannot run fails instead. Without the built web UI (web/dist) they fail: `npm test` builds first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT } from '../helpers.js';
import { CHROMIUM } from './browser.js';

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

