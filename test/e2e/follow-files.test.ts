/**
 * `runlog follow 'outputs/*\/run.log' --run X` (the README's own example: one run, several files):
 * the run page showed their lines mixed with nothing saying which file each came from (the path is
 * on each line, attrs.path). With lines from more than one file, each row now names its file, by
 * the part of its path that tells the files apart (`a/run.log`, `b/run.log`), the whole path in its
 * tooltip; a run of one file shows no name. So with loggers: a Python program's lines come with
 * their logger's name (record.name), shown nowhere; with two loggers or more, each row names its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { cli, tempDir, waitFor } from '../helpers.js';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('a run of several files, or several loggers', () => {
  const suite = useHubAndBrowser();
  const followers: ReturnType<typeof cli>[] = [];
  afterEach(async () => {
    for (const follower of followers.splice(0)) {
      follower.child.kill('SIGTERM');
      await follower;
    }
  });

  it('names the file of each line once there is more than one', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    for (const name of ['a', 'b']) {
      mkdirSync(join(dir, 'outputs', name), { recursive: true });
      writeFileSync(join(dir, 'outputs', name, 'run.log'), `hello from ${name}\n`);
    }
    const follower = cli(['follow', join(dir, 'outputs', '*', 'run.log'), '--run', 'two-files', '--hub', suite.hub.url, '--data', tempDir()]);
    followers.push(follower);
    await waitFor(async () => {
      const answer = await fetch(`${suite.hub.url}/api/runs/two-files`);
      return answer.status === 200 && ((await answer.json()) as { line_count: number }).line_count === 2;
    }, 30_000, 'both files in the run');
    const page = await suite.tab('#/runs/two-files');
    const rows = page.getByTestId('log-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    const named = await rows.evaluateAll((elements) => elements.map((row) => [row.querySelector('.file')?.textContent, row.querySelector('.file')?.getAttribute('title'), row.querySelector('.msg')?.textContent]));
    expect(named.sort()).toEqual([
      ['a/run.log', join(dir, 'outputs', 'a', 'run.log'), 'hello from a'],
      ['b/run.log', join(dir, 'outputs', 'b', 'run.log'), 'hello from b'],
    ]);
    expect(errorsOf(page)).toEqual([]);
  });

  it('names the logger of each line once a run has lines of two (a Python program logging as train and torch)', async () => {
    const post = (path: string, body: object) =>
      fetch(`${suite.hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'two-loggers' })).status).toBe(201);
    const at = Date.now() * 1000;
    const lines = [['train', 'epoch 1'], ['torch.distributed', 'rank 0 joined'], [undefined, 'a plain line']] as const;
    const records = lines.map(([logger, message], i) => ({ seq: i + 1, timestamp: at + i, level: 'INFO', message, ...(logger === undefined ? {} : { logger }) }));
    expect((await post('/api/runs/two-loggers/logs', { records })).status).toBe(200);
    const page = await suite.tab('#/runs/two-loggers');
    const rows = page.getByTestId('log-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3);
    const named = await rows.evaluateAll((elements) => elements.map((row) => [row.querySelector('.logger')?.textContent, row.querySelector('.msg')?.textContent]));
    expect(named).toEqual([['train', 'epoch 1'], ['torch.distributed', 'rank 0 joined'], ['', 'a plain line']]);
    // a run of one logger (or none) names none
    const single = await suite.tab('#/runs/two-files');
    await single.getByTestId('log-row').first().waitFor({ timeout: 20_000 });
    expect(await single.locator('.logger').count()).toBe(0);
    expect(errorsOf(page)).toEqual([]);
  });
});
