/** `runlog worker` reads the seed's HEARTBEAT_INTERVAL in seconds, fractions too, as the Python client does. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cliKilledAfterEach, getJson, hubOn, tempDir, waitFor } from './helpers.js';

const cli = cliKilledAfterEach();
let hub: RunningHub;
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterAll(async () => hub.close());

// "2.5" was refused: it was read as a whole number only
it('takes HEARTBEAT_INTERVAL=2.5 and tells the hub 2.5 s', async () => {
  const worker = cli(['worker', '--id', 'w-frac', '--hub', hub.url, '--data', tempDir()], { HEARTBEAT_INTERVAL: '2.5' });
  const seen = await waitFor(async () => {
    const { status, body } = await getJson<{ heartbeat_interval_s?: number }>(`${hub.url}/api/workers/w-frac`);
    return status === 200 ? body : undefined;
  });
  expect(seen.heartbeat_interval_s).toBe(2.5);
  worker.child.kill('SIGTERM');
  await worker;
});

it('refuses a HEARTBEAT_INTERVAL that is no positive number, naming it, before taking the lock', async () => {
  for (const value of ['abc', '0', '-1', 'inf', '1e999', '0x10']) {
    const data = tempDir();
    const answer = await cli(['worker', '--id', 'w-bad', '--hub', hub.url, '--data', data], { HEARTBEAT_INTERVAL: value });
    expect(answer.code, value).toBe(2);
    expect(answer.stderr, value).toBe(`runlog: HEARTBEAT_INTERVAL: expected a positive number of seconds, like 20 or 2.5, got ${JSON.stringify(value)}\n`);
    expect(existsSync(join(data, 'worker-w-bad.lock')), value).toBe(false);
  }
});
