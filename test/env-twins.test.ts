/** Environment twins as the README says: a bad value names the variable it came from; a switch's twin is 1/true/yes or 0/false/no. */
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';

describe('environment twins', () => {
  const store = () => ['--hub', 'none', '--data', tempDir()];

  it('a bad value from a twin names the twin, not only the flag the user never typed', async () => {
    const fromEnv = await cli(['runs', ...store()], { RUNLOG_LIMIT: 'abc' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toBe('runlog: --limit (RUNLOG_LIMIT): expected 1 to 10000 (the hub\'s limit for one page), got "abc"\n');
    const fromFlag = await cli(['runs', '--limit', 'abc', ...store()], { RUNLOG_LIMIT: '5' });
    expect(fromFlag.stderr).toBe('runlog: --limit: expected 1 to 10000 (the hub\'s limit for one page), got "abc"\n');
    const since = await cli(['grep', 'x', ...store()], { RUNLOG_SINCE: '5q' });
    expect(since.stderr).toMatch(/^runlog: --since \(RUNLOG_SINCE\): expected /);
  });

  it('a switch twin that is neither on nor off is refused, naming it, by the commands that have the switch only', async () => {
    const bad = await cli(['runs', ...store()], { RUNLOG_JSON: 'maybe' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('runlog: RUNLOG_JSON: expected 1, true, yes, 0, false, no (or unset), got "maybe"\n');
    const off = await cli(['runs', ...store()], { RUNLOG_JSON: 'no' });
    expect(off.code).toBe(0);
    expect(off.stdout).toMatch(/^ID +STATUS/);
    const on = await cli(['runs', ...store()], { RUNLOG_JSON: 'YES' });
    expect(on.stdout).toBe('[]\n');
    // runs has no --dry-run: RUNLOG_DRY_RUN is not its business
    expect((await cli(['runs', ...store()], { RUNLOG_DRY_RUN: 'maybe' })).code).toBe(0);
    // RUNLOG_FOLLOW is logs -f's twin; run's --follow <path> has none, and the variable is not its business either
    const run = await cli(['run', '--quiet', ...store(), '--', 'true'], { RUNLOG_FOLLOW: '/tmp/app.log' });
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect((await cli(['logs', 'x', ...store()], { RUNLOG_FOLLOW: '/tmp/app.log' })).stderr).toMatch(/^runlog: RUNLOG_FOLLOW: expected 1, true/);
  });
});
