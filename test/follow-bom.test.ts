/**
 * A followed file that starts with a UTF-8 BOM (EF BB BF, as Notepad and PowerShell write it): a
 * real hub, the built CLI. The first line must not keep U+FEFF, and the checkpoint's offset counts
 * the BOM as read (a restart repeats nothing and loses nothing).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { checkpointPath, loadCheckpoint } from '../src/sources/file/checkpoint.js';
import { cli, hubOn, tempDir } from './helpers.js';

const BOM = '\uFEFF';

let hub: RunningHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function fileLines(url: string, run: string): Promise<string[]> {
  const response = await fetch(`${url}/api/runs/${run}/logs?limit=1000`);
  const logs = ((await response.json()) as { logs: WireRecord[] }).logs;
  return logs.filter((r) => r.source === 'file').map((r) => r.message);
}

describe('a followed file that starts with a UTF-8 BOM', () => {
  it('runlog follow ships its first line without U+FEFF, and a restart takes up at the byte after the last line', async () => {
    hub = await hubOn(tempDir());
    const path = join(tempDir(), 'win.log');
    const data = tempDir();
    writeFileSync(path, `${BOM}first\r\nsecond\r\n`);
    const follow = () => cli(['follow', path, '--run', 'bom', '--hub', hub?.url ?? '', '--data', data, '--poll', '100ms', '--until-idle', '1s']);
    expect((await follow()).code).toBe(0);
    expect(await fileLines(hub.url, 'bom')).toEqual(['first', 'second']);
    // the BOM is 3 of the file's bytes: the offset is the file's size
    const size = Buffer.byteLength(`${BOM}first\r\nsecond\r\n`);
    expect(loadCheckpoint(checkpointPath(data, 'bom'))?.files).toMatchObject([{ offset: size, size }]);
    appendFileSync(path, 'third\r\n');
    expect((await follow()).code).toBe(0);
    expect(await fileLines(hub.url, 'bom')).toEqual(['first', 'second', 'third']);
  });

  it("runlog run --follow ships the first line of a file the command writes with a BOM without U+FEFF", async () => {
    hub = await hubOn(tempDir());
    const path = join(tempDir(), 'out.log');
    // the BOM and the first line in separate writes: the follower may read the BOM alone
    const script = `printf '\\357\\273\\277' > ${path}; sleep 0.3; printf 'one\\ntwo\\n' >> ${path}`;
    const done = await cli(['run', '--quiet', '--json', '--hub', hub.url, '--data', tempDir(), '--follow', path, '--', '/bin/sh', '-c', script]);
    expect(done.code).toBe(0);
    const run = JSON.parse(done.stdout.trim()) as { id: string };
    expect(await fileLines(hub.url, run.id)).toEqual(['one', 'two']);
  });
});
