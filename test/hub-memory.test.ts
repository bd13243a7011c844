/**
 * Issue 10, the live path: "server-side peak RSS while 1M lines pass ≤ 150 MB" (hub and runner
 * together). Here the hub's part: a real `runlog server` process takes a 1M-line job from a real
 * `runlog run` at full speed while one viewer follows the run's live stream, and its peak resident
 * memory (VmHWM) is read from /proc. With V8's defaults and SQLite's 16 MiB page cache it peaked at
 * 140–190 MB (the peers harness's memory scenario); with the hub's heap profile (src/cli/lean-heap.ts)
 * and a 2 MiB page cache, at 108–122 MB (here, without them: 131–136 MB).
 */
import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, getJson, PYTHON, startHubProcess, waitFor, type HubProcess } from './helpers.js';
import { peakKbOf, printingJob, scratchDirs } from './memory.js';

const LINES = 1_000_000;
const LIMIT_KB = 125 * 1024;
const PRINT = printingJob(LINES);

const { scratch, removeScratch } = scratchDirs();
let hub: HubProcess | undefined;
afterEach(() => {
  hub?.child.kill('SIGTERM');
  hub = undefined;
  removeScratch();
});

/** Reads a live stream to its end, counting its `log` events (the viewer: the hub builds and writes every frame). */
function follow(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let events = 0;
      let tail = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        const joined = tail + text;
        const cut = joined.lastIndexOf('\n');
        for (let at = joined.indexOf('event: log\n'); at !== -1 && at < cut; at = joined.indexOf('event: log\n', at + 1)) events++;
        tail = joined.slice(cut + 1);
        if (joined.includes('event: end\n')) response.destroy();
      });
      response.on('close', () => resolve(events));
      response.on('error', reject);
    }).on('error', reject);
  });
}

describe('the hub memory', () => {
  it('stays under 125 MB while a 1M-line job passes through it to a live viewer, and the viewer gets every line', async () => {
    hub = await startHubProcess(['--data', scratch('runlog-hubmem-')]);
    const { url } = hub;
    const running = cli(['run', '--quiet', '--id', 'hubmem', '--hub', url, '--data', scratch('runlog-hubmem-run-'), '--', PYTHON, '-c', PRINT]);
    await waitFor(async () => ((await getJson(`${url}/api/runs/hubmem`)).status === 200 ? true : undefined), 30_000, 'the run on the hub');
    const viewer = follow(`${url}/api/runs/hubmem/logs/stream?after=0`);
    const result = await running;
    expect(result.code, result.stderr).toBe(0);
    expect(await viewer).toBe(LINES);
    const peakKb = peakKbOf(hub.child.pid!);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb, `hub peak RSS ${Math.round(peakKb / 1024)} MB`).toBeLessThan(LIMIT_KB);
  }, 180_000);
});
