/**
 * A hub URL with credentials (`http://user:password@proxy/…`, a reverse proxy's basic auth in
 * front of the hub): runlog sends them, and never shows the password: it was in the worker's first
 * line (stored on the hub, read by anyone with `read`) and in every "hub … unreachable" message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { SystemLog } from '../src/store/store.js';
import { cli, getJson, hubOn, tempDir, waitFor } from './helpers.js';

const SECRET = 'SeCrEt-pw';

describe('a hub URL holding a password', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => hub?.close());

  it("keeps it out of the worker's lines on the hub and its stderr", async () => {
    const url = hub.url.replace('http://', `http://proxy-user:${SECRET}@`);
    const worker = cli(['worker', '--id', 'w-cred', '--hub', url, '--heartbeat', '1', '--data', tempDir()]);
    try {
      const lines = await waitFor(async () => {
        const { body } = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=w-cred`);
        return body.logs?.some((l) => l.message.includes('starting')) ? body.logs : undefined;
      }, 20_000, "the worker's first line on the hub");
      const starting = lines.find((l) => l.message.includes('starting'))?.message ?? '';
      expect(starting).not.toContain(SECRET);
      expect(starting).toContain('http://proxy-user:***@127.0.0.1');
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect((await worker).stderr).not.toContain(SECRET);
  });

  it('keeps it out of the messages about a hub that does not answer', async () => {
    const url = `http://proxy-user:${SECRET}@127.0.0.1:1`;
    for (const args of [['runs', '--hub', url], ['run', '--hub', url, '--data', tempDir(), '--flush-timeout', '1s', '--', 'true']]) {
      const result = await cli(args);
      expect(result.stderr, args[0]).toContain('proxy-user:***@127.0.0.1:1');
      expect(result.stderr, args[0]).not.toContain(SECRET);
    }
  });
});
