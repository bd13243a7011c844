/** The CLI against the hub's bounds (issue 8): what runlog sends, it fits to them first, so a run is never refused for them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../src/core/limits.js';
import type { RunningHub } from '../src/server/listen.js';
import { cli, getJson, hubOn, tempDir } from './helpers.js';

describe('runlog run within the hub\'s bounds', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => hub.close());

  it('ships a run whose command is longer than 64 KiB, its command cut with …', async () => {
    const long = 'x'.repeat(70_000);
    const result = await cli(['run', '--quiet', '--id', 'long-cmd', '--hub', hub.url, '--data', tempDir(), '--', '/bin/sh', '-c', 'echo ok', 'sh', long]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('refused');
    const { body: run } = await getJson<{ command: string; status: string }>(`${hub.url}/api/runs/long-cmd`);
    expect(run.status).toBe('completed');
    expect(run.command.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(run.command)).toBeLessThanOrEqual(LIMITS.commandBytes);
    const { body: logs } = await getJson<{ logs: { message: string }[] }>(`${hub.url}/api/runs/long-cmd/logs`);
    expect(logs.logs.map((line) => line.message)).toEqual(['ok']);
  });
});
