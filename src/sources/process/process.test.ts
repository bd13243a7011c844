import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CapturedProcess } from './process.js';

describe('CapturedProcess', () => {
  // two pipes 1 ms apart: a machine so loaded that this process sleeps through both writes sees
  // them in either order (seen at load 8-11, CI beside other test runs): a few triples out of order
  // are the load's; the overtaking it guards against put the print before the bar's last state in
  // (nearly) every one of the 40
  it("hands on stderr's lines before the stdout line written 1 ms after them (a bar's last states, then a print)", async () => {
    // the first stderr write is a small read, which starts the pace, and the second waits for it;
    // with a pace per pipe, the stdout line that came 1 ms later was read at once and overtook the
    // second (the case of tqdm's last bar)
    const script = `
import sys, time
for i in range(40):
    sys.stderr.write("e%d\\n" % i); sys.stderr.flush()
    time.sleep(0.0005)
    sys.stderr.write("f%d\\n" % i); sys.stderr.flush()
    time.sleep(0.001)
    sys.stdout.write("o%d\\n" % i); sys.stdout.flush()
    time.sleep(0.03)
`;
    const seen: string[] = [];
    const take = (chunk: Buffer) => seen.push(...chunk.toString().split('\n').filter(Boolean));
    const child = new CapturedProcess(['/usr/bin/python3', '-c', script], { env: process.env }, { stdout: take, stderr: take });
    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect([...seen].sort()).toEqual(Array.from({ length: 40 }, (_, i) => [`e${i}`, `f${i}`, `o${i}`]).flat().sort());
    const overtaken = Array.from({ length: 40 }, (_, i) => i).filter((i) => seen.indexOf(`o${i}`) < seen.indexOf(`f${i}`));
    expect(overtaken.length, `prints before the bar's last state in triples ${overtaken.join(', ')}: ${seen.join(' ')}`).toBeLessThanOrEqual(4);
  });
});

describe('CapturedProcess and a process the command leaves behind', () => {
  it('ends when the command has exited, though a daemon it started still holds its stdout open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-held-'));
    const pidFile = join(dir, 'daemon.pid');
    // the daemon leaves the command's group (setsid) and keeps the inherited stdout for a minute:
    // before the fix, `exited` waited for that stdout's end, so the run stayed running all along
    const script = `setsid sh -c 'echo $$ > ${pidFile}; echo from-daemon; exec sleep 60' & echo main-done`;
    const seen: string[] = [];
    const take = (chunk: Buffer) => seen.push(...chunk.toString().split('\n').filter(Boolean));
    try {
      const child = new CapturedProcess(['/bin/sh', '-c', script], { env: process.env }, { stdout: take, stderr: take });
      const exit = await child.exited;
      expect(exit).toMatchObject({ code: 0, signal: null, pipesHeld: true });
      expect(seen.sort()).toEqual(['from-daemon', 'main-done']);
      // the daemon was let be: still alive
      const daemon = Number(readFileSync(pidFile, 'utf8'));
      expect(() => process.kill(daemon, 0)).not.toThrow();
    } finally {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // never started
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 15_000);

  it('reads a background job that finishes soon after the command to its end', async () => {
    const seen: string[] = [];
    const take = (chunk: Buffer) => seen.push(...chunk.toString().split('\n').filter(Boolean));
    const child = new CapturedProcess(['/bin/sh', '-c', '(sleep 0.3; echo late) & echo first'], { env: process.env }, { stdout: take, stderr: take });
    const exit = await child.exited;
    expect(exit.pipesHeld).toBeUndefined();
    expect(seen).toEqual(['first', 'late']);
  });
});
