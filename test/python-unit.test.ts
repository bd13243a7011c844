/**
 * The Python client's own unit tests (clients/python/tests, unittest, against a stand-in hub),
 * run with Debian's python3 as part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON } from './helpers.js';

const CLIENT = join(import.meta.dirname, '..', 'clients', 'python');
const STRICT = process.env.RUNLOG_TEST_STRICT === '1';

describe('the Python client (unittest)', () => {
  it('passes its own tests: formatting, arguments taken at call time, task ids, filters, exceptions, a full queue, threads, loguru', (context) => {
    if (!existsSync(PYTHON)) {
      if (STRICT) throw new Error(`${PYTHON} not found; strict mode (RUNLOG_TEST_STRICT=1): not skipping`);
      return context.skip();
    }
    const result = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', join(CLIENT, 'tests'), '-v'], {
      env: { ...process.env, PYTHONPATH: CLIENT },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.stderr).toMatch(/^OK/m);
    expect(result.status, result.stderr).toBe(0);
  }, 150_000);
});
