/**
 * `runlog follow ssh://…` stopped (SIGTERM) at awkward moments, against a real sshd (test/sshd.ts):
 * far behind (rotated copies piled up, a slow link: the stop's 5 s to read to the end run out), and
 * just after a truncation the remote side had not looked at yet (its read to the end at the stop
 * must not go on in the new file from the old offset).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { cliKilledAfterEach, tempDir, waitFor } from './helpers.js';
import { hubProxy } from './hub-proxy.js';
import { numberedBlock, numberedLines, remoteScripts, sshdAvailable, sshdWithHub } from './sshd.js';

const cli = cliKilledAfterEach();

/** A directory with an `ssh` that waits `seconds` before each connection (a slow link, a loaded host). */
function slowSsh(seconds: number): string {
  const bin = tempDir('runlog-ssh-slow-');
  writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nsleep ${seconds}\nexec /usr/bin/ssh "$@"\n`);
  chmodSync(join(bin, 'ssh'), 0o755);
  return bin;
}

function parentOf(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!sshdAvailable())('runlog follow ssh://… stopped at awkward moments (a real sshd)', () => {
  const env = sshdWithHub();
  const records = (run: string) => env.records(run);

  it('stopped while far behind (rotated copies piled up, a slow link) says in the run how many files and bytes it left unread, and a restart reads them', async () => {
    const dir = join(env.sshd.dir, 'pile');
    mkdirSync(dir);
    const path = join(dir, 'app.log');
    const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
    const run = 'ssh-stop-behind';
    const data = tempDir();
    const start = (vars: NodeJS.ProcessEnv = {}) => cli(['follow', url, '--run', run, '--hub', env.hub.url, '--data', data, '--ssh-option', env.sshd.sshOption], vars);
    writeFileSync(path, numberedBlock(1, 5));
    const first = start();
    await waitFor(async () => (await records(run)).length >= 5 || undefined, 30_000, '5 lines');
    first.child.kill('SIGTERM');
    expect((await first).code).toBe(0);

    // 12 rotations while nobody follows (app.log-01 … app.log-12, oldest first by mtime), 5 lines
    // each (the first file 5 more), and 5 lines in the name's file: 13 files, one session each
    const fileOf = new Map<number, number>(); // line → the file (0–13) it is in
    const base = Math.floor(Date.now() / 1000) - 1000;
    let line = 6;
    for (let k = 1; k <= 13; k++) {
      appendFileSync(path, numberedBlock(line, line + 4));
      for (let n = k === 1 ? 1 : line; n <= line + 4; n++) fileOf.set(n, k - 1);
      line += 5;
      if (k === 13) break;
      const copy = `${path}-${String(k).padStart(2, '0')}`;
      renameSync(path, copy);
      utimesSync(copy, base + k, base + k);
      writeFileSync(path, '');
    }
    const last = line - 1; // 70

    // each connection 1 s late: the stop's 5 s read a few of the 13 files, not all
    const second = start({ PATH: `${slowSsh(1)}:${process.env.PATH ?? ''}` });
    await waitFor(async () => (await records(run)).some((r) => r.message === numberedLines(10, 10)[0]) || undefined, 30_000, 'line 10');
    second.child.kill('SIGTERM');
    expect((await second).code).toBe(0);
    const stopped = await records(run);
    const read = stopped.filter((r) => r.source === 'file').map((r) => r.message);
    expect(read).toEqual(numberedLines(1, read.length));
    expect(read.length).toBeLessThan(60); // the stop was cut short: files were left
    const leftFiles = new Set(Array.from({ length: last - read.length }, (_, k) => fileOf.get(read.length + 1 + k))).size;
    const leftBytes = Buffer.byteLength(numberedBlock(read.length + 1, last));
    const said = stopped.filter((r) => r.source === 'system').map((r) => r.message);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`${url}: stopped before the remote file was read to its end: ${leftFiles} files with ${leftBytes} bytes not read`);
    expect(said[0]).toMatch(/a restart|started again/);

    // started again (a fast link): every file left is read, in order, nothing twice, nothing said again
    const third = start();
    await waitFor(async () => (await records(run)).some((r) => r.message === numberedLines(last, last)[0]) || undefined, 60_000, `line ${last}`);
    await sleep(500); // a repeated line would come by now
    third.child.kill('SIGTERM');
    expect((await third).code).toBe(0);
    const all = await records(run);
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(numberedLines(1, last));
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual(said);
  });

  it('stopped while far behind in a big file (a slow hub: it reads no further while 20,000 lines wait) says how many bytes it left unread, and a restart reads them; no line is cut in two meanwhile', async () => {
    const path = join(env.sshd.dir, 'big.log');
    const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
    const run = 'ssh-stop-big';
    const data = tempDir();
    const total = 100_000;
    writeFileSync(path, numberedBlock(1, total));
    /** every line of the run, paged */
    const everything = async (): Promise<WireRecord[]> => {
      const all: WireRecord[] = [];
      for (;;) {
        const response = await fetch(`${env.hub.url}/api/runs/${run}/logs?limit=10000&after=${all.at(-1)?.seq ?? 0}`);
        const page = response.ok ? ((await response.json()) as { logs: WireRecord[] }).logs : [];
        all.push(...page);
        if (page.length < 10_000) return all;
      }
    };
    const lastLine = async () => {
      const response = await fetch(`${env.hub.url}/api/runs/${run}/logs?tail=1`);
      return response.ok ? ((await response.json()) as { logs: WireRecord[] }).logs[0] : undefined;
    };
    // each batch held 1 s on its way to the hub: the follower reads 20,000 lines, then waits for it
    const slow = await hubProxy(env.hub.url, () => undefined, (method, route) => (method === 'POST' && route.endsWith('/logs') ? 1000 : 0));
    try {
      // (a short partial timeout: a line cut by a read must not be shipped in halves while the rest waits in the pipe)
      const first = cli(['follow', url, '--run', run, '--hub', slow.url, '--data', data, '--ssh-option', env.sshd.sshOption, '--flush-timeout', '60s', '--partial-timeout', '200ms']);
      await waitFor(async () => (await lastLine()) !== undefined || undefined, 30_000, 'a first batch');
      first.child.kill('SIGTERM');
      expect((await first).code).toBe(0);
    } finally {
      await slow.close();
    }
    const stopped = await everything();
    const read = stopped.filter((r) => r.source === 'file').map((r) => r.message);
    const wrong = read.findIndex((m, k) => m !== numberedLines(k + 1, k + 1)[0]);
    expect(wrong, JSON.stringify([read.slice(wrong - 2, wrong + 3), stopped.slice(-3)])).toBe(-1);
    expect(read.length).toBeLessThan(total - 10_000); // cut short
    const said = stopped.filter((r) => r.source === 'system').map((r) => r.message);
    expect(said).toHaveLength(1);
    const match = /: stopped before the remote file was read to its end: 1 file with (\d+) bytes not read/.exec(said[0] ?? '');
    expect(match, said[0]).not.toBeNull();
    // what was received, counted from the end of the last line shipped (a line cut by the stop was received, not shipped)
    const unshipped = Buffer.byteLength(numberedBlock(read.length + 1, total));
    expect(Number(match![1])).toBeLessThanOrEqual(unshipped);
    expect(Number(match![1])).toBeGreaterThan(unshipped - 20);

    const second = cli(['follow', url, '--run', run, '--hub', env.hub.url, '--data', data, '--ssh-option', env.sshd.sshOption]);
    await waitFor(async () => (await lastLine())?.message === numberedLines(total, total)[0] || undefined, 120_000, `line ${total}`);
    second.child.kill('SIGTERM');
    expect((await second).code).toBe(0);
    const all = await everything();
    expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual(numberedLines(1, total));
    expect(all.filter((r) => r.source === 'system').map((r) => r.message)).toEqual(said);
  });

  for (const banner of ['', '=== job log ===\n']) {
    it(`stopped just after its file was truncated and written shorter${banner ? ' with the same first line' : ''}: says the loss and reads the new file, old and new bytes not mixed`, async () => {
      const path = join(env.sshd.dir, banner ? 'cut-banner.log' : 'cut.log');
      const url = `ssh://root@127.0.0.1:${env.sshd.port}${path}`;
      const run = banner ? 'ssh-stop-cut-banner' : 'ssh-stop-cut';
      const head = banner ? [banner.trim()] : [];
      writeFileSync(path, banner + numberedBlock(1, 30));
      const follower = cli(['follow', url, '--run', run, '--hub', env.hub.url, '--data', tempDir(), '--ssh-option', env.sshd.sshOption]);
      await waitFor(async () => (await records(run)).length >= 30 + head.length || undefined, 30_000, 'the first lines');
      await sleep(2500); // still for 2 s: the remote side looks 4 times a second, sleeping between

      // the remote script held still (its stdin reader too): the truncation and the stop both come
      // before its next look, so only the stop's own read to the end can see the truncation
      const pids = remoteScripts(path);
      const main = pids.filter((pid) => !pids.includes(parentOf(pid)));
      expect(main).toHaveLength(1);
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      writeFileSync(path, banner + numberedBlock(101, 103));
      follower.child.kill('SIGTERM');
      await sleep(500); // the end of its stdin reaches the host
      for (const pid of pids) if (pid !== main[0]) process.kill(pid, 'SIGCONT');
      await sleep(300); // the reader signals the script (held until it goes on)
      process.kill(main[0]!, 'SIGCONT');
      expect((await follower).code).toBe(0);

      const all = await records(run);
      expect(all.filter((r) => r.source === 'file').map((r) => r.message)).toEqual([...head, ...numberedLines(1, 30), ...head, ...numberedLines(101, 103)]);
      const said = all.filter((r) => r.source === 'system').map((r) => r.message);
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/truncated; lines written after byte \d+ before the truncation could not be read/);
    });
  }
});
