/**
 * Two `runlog follow --run X` on one data directory (a second file followed by a second command
 * instead of one command naming both, or the same follower started twice) shared the checkpoint's
 * writer key, so the hub took both, and both numbered their lines from the same seq: the hub kept
 * one line of each seq and the others were lost, silently. The second one is now refused (exit 2),
 * naming the first's pid and the way to follow both files; once the first has stopped, a follower
 * takes the run up again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { cliKilledAfterEach, hubOn, tempDir, waitFor } from './helpers.js';

/** the followers this file started are killed after each test */
const cli = cliKilledAfterEach();

let hub: RunningHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function messages(url: string, run: string): Promise<string[]> {
  const response = await fetch(`${url}/api/runs/${run}/logs?limit=1000`);
  return response.ok ? ((await response.json()) as { logs: WireRecord[] }).logs.map((line) => line.message) : [];
}

describe('runlog follow: one follower per run and data directory', () => {
  it('refuses a second follower of the run on the same data directory while the first runs; after it stopped, one takes the run up', async () => {
    hub = await hubOn(tempDir());
    const url = hub.url;
    const dir = tempDir();
    const data = tempDir();
    writeFileSync(join(dir, 'a.log'), 'a 1\na 2\n');
    writeFileSync(join(dir, 'b.log'), 'b 1\n');
    const first = cli(['follow', join(dir, 'a.log'), '--run', 'shared', '--hub', url, '--data', data]);
    await waitFor(async () => ((await messages(url, 'shared')).length === 2 ? true : undefined), 20_000, 'the first follower’s lines');
    const second = await cli(['follow', join(dir, 'b.log'), '--run', 'shared', '--hub', url, '--data', data, '--until-idle', '500ms']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`run shared is followed by another runlog follow (pid ${first.child.pid}) on ${data}`);
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);
    const after = await cli(['follow', join(dir, 'a.log'), join(dir, 'b.log'), '--run', 'shared', '--hub', url, '--data', data, '--until-idle', '500ms']);
    expect(after.code, after.stderr).toBe(0);
    expect(await messages(url, 'shared')).toEqual(['a 1', 'a 2', 'b 1']);
  });
});
