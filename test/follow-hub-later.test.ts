/**
 * `runlog follow` started before its hub (a GPU box's follower started with the job, the hub still
 * booting or restarting): it waits for the hub, saying so once, then ships every line of the file,
 * those written meanwhile included. It used to exit 2 at once ("hub … does not answer"), so the
 * lines written until someone restarted it by hand were never followed live.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { cliKilledAfterEach, hubOn, tempDir, waitFor } from './helpers.js';
import { hubProxy } from './hub-proxy.js';

/** the followers this file started are killed after each test */
const cli = cliKilledAfterEach();

let hub: RunningHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function messages(url: string, run: string): Promise<string[]> {
  const response = await fetch(`${url}/api/runs/${run}/logs?limit=1000`);
  return response.ok ? ((await response.json()) as { logs: WireRecord[] }).logs.map((line) => line.message) : [];
}

describe('runlog follow with its hub not up yet', () => {
  it('waits for the hub, said once on stderr, then ships every line once; SIGTERM then stops it with exit 0', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const file = join(tempDir(), 'train.log');
    writeFileSync(file, 'before 1\nbefore 2\n');
    const follower = cli(['follow', file, '--run', 'hub-later', '--hub', url, '--data', tempDir(), '--poll', '100ms']);
    let stderr = '';
    follower.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes('does not answer yet') || undefined, 20_000, 'the notice that the hub is waited for');
    expect(follower.child.exitCode).toBeNull(); // still there, waiting
    appendFileSync(file, 'while away\n');
    hub = await hubOn(tempDir(), port);
    await waitFor(async () => ((await messages(url, 'hub-later')).length === 3 ? true : undefined), 30_000, 'the lines on the hub');
    appendFileSync(file, 'after\n');
    await waitFor(async () => ((await messages(url, 'hub-later')).length === 4 ? true : undefined), 30_000, 'the live line');
    follower.child.kill('SIGTERM');
    const result = await follower;
    expect(result.code).toBe(0);
    expect(await messages(url, 'hub-later')).toEqual(['before 1', 'before 2', 'while away', 'after']);
    expect(stderr.match(/does not answer yet/g)).toHaveLength(1);
  });

  it('retries a hub that answers 503 (its store away for a moment) when creating the run, instead of exiting 2', async () => {
    hub = await hubOn(tempDir());
    let refusals = 2;
    const proxy = await hubProxy(hub.url, (method, path) =>
      method === 'POST' && path === '/api/runs' && refusals-- > 0 ? { status: 503, body: { error: 'STORE_UNAVAILABLE', message: 'store unreachable' } } : undefined,
    );
    try {
      const file = join(tempDir(), 'train.log');
      writeFileSync(file, 'one\ntwo\n');
      const result = await cli(['follow', file, '--run', 'hub-503', '--hub', proxy.url, '--data', tempDir(), '--until-idle', '1s']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('store unreachable');
      expect(await messages(hub.url, 'hub-503')).toEqual(['one', 'two']);
    } finally {
      await proxy.close();
    }
  });

  it('stopped by SIGTERM while it waits for the hub: exit 0, and nothing is lost (a restart reads the file from its start)', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const file = join(tempDir(), 'train.log');
    const data = tempDir();
    writeFileSync(file, 'one\ntwo\n');
    const waiting = cli(['follow', file, '--run', 'hub-never', '--hub', url, '--data', data]);
    let stderr = '';
    waiting.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes('does not answer yet') || undefined, 20_000, 'the notice that the hub is waited for');
    waiting.child.kill('SIGTERM');
    expect((await waiting).code).toBe(0);
    hub = await hubOn(tempDir(), port);
    const restarted = await cli(['follow', file, '--run', 'hub-never', '--hub', url, '--data', data, '--until-idle', '500ms']);
    expect(restarted.code).toBe(0);
    expect(await messages(url, 'hub-never')).toEqual(['one', 'two']);
  });

  it('with --until-idle, gives up on a hub that never answers (after 10 s at least): exit 1, saying nothing was shipped', async () => {
    const port = await freePort();
    const file = join(tempDir(), 'train.log');
    writeFileSync(file, 'one\n');
    const result = await cli(['follow', file, '--run', 'hub-gone', '--hub', `http://127.0.0.1:${port}`, '--data', tempDir(), '--until-idle', '1s']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/does not answer yet/);
    expect(result.stderr).toMatch(/did not answer for 10 s \(--until-idle\): nothing was shipped/);
  });
});
