/**
 * `runlog follow` killed between the hub's answer to a batch and the checkpoint that records it
 * (the checkpoint still at the state before, with the batch noted as `sending`), and its one file
 * deleted and made again before the restart. The restart read again from the older offsets, as for
 * a file still there, numbering from the checkpoint's seq: its "could not be read" line and the new
 * file's lines took seqs the hub already held, and the hub dropped them as resent. The state on
 * disk is the one such a kill leaves: the checkpoint of a follower that stopped, rolled back to
 * before its batch, with that batch noted.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { FollowCheckpoint } from '../src/sources/file/checkpoint.js';
import { cli, hubOn, tempDir, waitFor } from './helpers.js';

let hub: RunningHub;
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterAll(async () => {
  await hub?.close();
});

it('goes on after the batch the hub took when the checkpoint missed it, though its file is gone', async () => {
  const dir = tempDir();
  const log = join(dir, 'app.log');
  const data = join(dir, 'data');
  const first = Array.from({ length: 10 }, (_, i) => `first ${i + 1}`);
  writeFileSync(log, first.map((line) => `${line}\n`).join(''));
  const follow = ['follow', log, '--run', 'window', '--hub', hub.url, '--data', data, '--until-idle', '1s'];
  expect((await cli(follow)).code).toBe(0);
  const cpFile = join(data, 'follow', 'window.json');
  const after = JSON.parse(readFileSync(cpFile, 'utf8')) as FollowCheckpoint;
  expect(after.last_seq).toBe(10);
  // killed before the checkpoint of the batch: what was there before it, and the batch noted
  const before: FollowCheckpoint = {
    ...after,
    last_seq: 0,
    files: after.files.map((file) => ({ ...file, offset: 0, size: 0, seq: 0, fp: '', fp_len: 0, tail_fp: undefined, tail_len: undefined })),
    sending: { last_seq: 10, files: after.files },
  };
  writeFileSync(cpFile, JSON.stringify(before));
  // meanwhile the file was deleted and made again
  rmSync(log);
  const second = Array.from({ length: 5 }, (_, i) => `second ${i + 1}`);
  writeFileSync(log, second.map((line) => `${line}\n`).join(''));
  expect((await cli(follow)).code).toBe(0);
  const response = await fetch(`${hub.url}/api/runs/window/logs?limit=1000`);
  const { logs } = (await response.json()) as { logs: { seq: number; source: string; message: string }[] };
  expect(logs.filter((line) => line.source === 'file').map((line) => line.message)).toEqual([...first, ...second]);
  expect(logs.map((line) => line.seq)).toEqual(logs.map((_, i) => i + 1));
});

/**
 * The checkpoint a follower writes as it starts (before it waits for the hub) dropped the noted
 * batch: killed while waiting, the restart went on from the older offsets as if the batch were
 * not in, and the new file's lines took seqs the hub held (dropped as resent: lost).
 */
it('killed while waiting for the hub at startup, it still knows the batch in flight: nothing lost, nothing twice', async () => {
  const dir = tempDir();
  const hubData = tempDir();
  const port = 7452;
  let own = await hubOn(hubData, port);
  const url = `http://127.0.0.1:${port}`;
  try {
    const log = join(dir, 'app.log');
    const data = join(dir, 'data');
    const first = Array.from({ length: 10 }, (_, i) => `first ${i + 1}`);
    writeFileSync(log, first.map((line) => `${line}\n`).join(''));
    const follow = ['follow', log, '--run', 'startup', '--hub', url, '--data', data];
    expect((await cli([...follow, '--until-idle', '1s'])).code).toBe(0);
    const cpFile = join(data, 'follow', 'startup.json');
    const after = JSON.parse(readFileSync(cpFile, 'utf8')) as FollowCheckpoint;
    const before: FollowCheckpoint = {
      ...after,
      last_seq: 0,
      files: after.files.map((file) => ({ ...file, offset: 0, size: 0, seq: 0, fp: '', fp_len: 0, tail_fp: undefined, tail_len: undefined })),
      sending: { last_seq: 10, files: after.files },
    };
    writeFileSync(cpFile, JSON.stringify(before));
    rmSync(log);
    const second = Array.from({ length: 5 }, (_, i) => `second ${i + 1}`);
    writeFileSync(log, second.map((line) => `${line}\n`).join(''));
    // the hub away: the follower writes its startup checkpoint, then waits; killed there
    await own.close();
    const waiting = cli(follow);
    let stderr = '';
    waiting.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes('does not answer yet') || undefined, 20_000, 'the follower waiting for the hub');
    waiting.child.kill('SIGKILL');
    await waiting;
    expect((JSON.parse(readFileSync(cpFile, 'utf8')) as FollowCheckpoint).sending?.last_seq).toBe(10);
    own = await hubOn(hubData, port);
    expect((await cli([...follow, '--until-idle', '1s'])).code).toBe(0);
    const response = await fetch(`${url}/api/runs/startup/logs?limit=1000`);
    const { logs } = (await response.json()) as { logs: { seq: number; source: string; message: string }[] };
    expect(logs.filter((line) => line.source === 'file').map((line) => line.message)).toEqual([...first, ...second]);
    expect(logs.map((line) => line.seq)).toEqual(logs.map((_, i) => i + 1));
  } finally {
    await own.close();
  }
});
