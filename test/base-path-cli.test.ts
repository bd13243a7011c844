/**
 * A CLI pointed at a hub's origin while the hub serves under `--base-path`: the hub is there, so
 * "hub … does not answer" sent the user looking for a dead process. It says what answered and
 * where such a hub is; a port where nothing listens still says why. `runlog run` there says the
 * URL answered 404 to the run's create, not that the hub is unreachable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { cli, tempDir } from './helpers.js';

describe('--hub without the base path of a hub under --base-path', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), basePath: '/runlog' }, { audit: () => {} });
  });
  afterAll(async () => hub?.close());

  it('says the hub answered 404 at /healthz and where a hub under a base path is', async () => {
    const origin = new URL(hub.url).origin;
    for (const args of [['runs'], ['logs', 'r-1'], ['grep', 'x'], ['workers']]) {
      const refused = await cli([...args, '--hub', origin]);
      expect(refused.code, args[0]).toBe(2);
      expect(refused.stderr, args[0]).toContain(`hub ${origin} does not answer: GET /healthz is 404 there; a hub started with --base-path is under it (${origin}/runlog for --base-path /runlog)`);
    }
    expect((await cli(['runs', '--hub', hub.url])).code).toBe(0);
    // a wrong path: not "…/runlog/wrong/runlog for --base-path /runlog"
    const wrong = await cli(['runs', '--hub', `${origin}/wrong`]);
    expect([wrong.code, wrong.stderr]).toEqual([2, `runlog: hub ${origin}/wrong does not answer: GET /healthz is 404 there: is /wrong the hub's --base-path? (a hub without one is at ${origin})\n`]);
  });

  it('runlog run says the URL answered 404 (not that the hub is unreachable), keeps the lines, and a sync to the right URL delivers them', async () => {
    const origin = new URL(hub.url).origin;
    const data = tempDir();
    const ran = await cli(['run', '--hub', origin, '--data', data, '--id', 'bare-url', '--flush-timeout', '1s', '--', 'sh', '-c', 'echo one; echo two']);
    expect(ran.code).toBe(0);
    const said = `the hub at ${origin} answered 404 for POST /api/runs: is it the hub's URL? (behind a proxy at a sub-path, give the path)`;
    expect(ran.stderr).toContain(`${said}; lines wait in the write-ahead log`);
    expect(ran.stderr).toContain(`${said}: 2 lines kept in the local store`);
    expect(ran.stderr).not.toMatch(/unreachable|did not come back/);
    const synced = await cli(['sync', '--hub', hub.url, '--data', data]);
    expect(synced.code, synced.stderr).toBe(0);
    const lines = (await (await fetch(`${hub.url}/api/runs/bare-url/logs`)).json()) as { logs: { message: string }[] };
    expect(lines.logs.map((line) => line.message)).toEqual(['one', 'two']);
  });

  it('names the error when nothing listens', async () => {
    const refused = await cli(['runs', '--hub', 'http://127.0.0.1:1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('hub http://127.0.0.1:1 does not answer: connect ECONNREFUSED 127.0.0.1:1');
  });
});
