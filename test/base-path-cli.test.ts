/**
 * A CLI pointed at a hub's origin while the hub serves under `--base-path`: the hub is there, so
 * "hub … does not answer" sent the user looking for a dead process. It says what answered and
 * where such a hub is; a port where nothing listens still says why.
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
  });

  it('names the error when nothing listens', async () => {
    const refused = await cli(['runs', '--hub', 'http://127.0.0.1:1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('hub http://127.0.0.1:1 does not answer: connect ECONNREFUSED 127.0.0.1:1');
  });
});
