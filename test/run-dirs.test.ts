/** `runlog run` with a --data or --log-dir it cannot write in: exit 2 naming the flag, before the command runs. */
import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliKilledAfterEach, runRecords, startHubProcess, tempDir, tmpfsOrSkip } from './helpers.js';

const cli = cliKilledAfterEach();

// it hung at 100% CPU, deaf to SIGTERM (Node's recursive mkdir loops on /proc: src/core/make-dir.ts)
it('refuses --log-dir /proc/x quickly, exit 2 naming --log-dir, without running the command', async () => {
  const data = tempDir();
  const marker = join(data, 'ran');
  const answer = await cli(['run', '--hub', 'none', '--data', data, '--log-dir', '/proc/x', '--', 'touch', marker]);
  expect(answer.code).toBe(2);
  expect(answer.stderr).toMatch(/^runlog: --log-dir \/proc\/x: runlog cannot write there \(.*\/proc\/x.*\)\n$/);
  expect(existsSync(marker)).toBe(false);
}, 20_000);

it('refuses a --log-dir or --data that is a file, or under one, naming the flag (it ran with a warning, exit 0)', async () => {
  const dir = tempDir();
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  for (const [flag, value] of [['--log-dir', file], ['--log-dir', join(file, 'sub')], ['--data', file], ['--data', '/proc/x']] as const) {
    const args = flag === '--data' ? ['--data', value] : ['--data', tempDir(), '--log-dir', value];
    const answer = await cli(['run', '--hub', 'none', ...args, '--', 'echo', 'ran']);
    expect([answer.code, answer.stdout]).toEqual([2, '']);
    expect(answer.stderr).toContain(`runlog: ${flag} ${value}: runlog cannot write there (`);
  }
}, 20_000);

it('refuses a --log-dir on a read-only file system, naming --log-dir', async (context) => {
  const mount = tmpfsOrSkip('1m', context);
  if (mount === undefined) return;
  try {
    spawnSync('mount', ['-o', 'remount,ro', mount]);
    const answer = await cli(['run', '--hub', 'none', '--data', tempDir(), '--log-dir', join(mount, 'logs'), '--', 'echo', 'ran']);
    expect([answer.code, answer.stdout]).toEqual([2, '']);
    expect(answer.stderr).toContain(`runlog: --log-dir ${join(mount, 'logs')}: runlog cannot write there (EROFS`);
  } finally {
    spawnSync('umount', ['-l', mount]);
  }
}, 20_000);

// a read-only working directory (a container) with the hub in RUNLOG_HUB and no --data: the run
// goes on, its lines to the hub, the local WAL and log file said as warnings (it was refused, exit 2,
// naming a --data the user never gave)
it('runs in a read-only working directory without --data: lines to the hub, a warning, exit 0', async (context) => {
  const mount = tmpfsOrSkip('1m', context);
  if (mount === undefined) return;
  const hub = await startHubProcess(['--data', tempDir()]);
  try {
    spawnSync('mount', ['-o', 'remount,ro', mount]);
    const answer = await cli(['run', '--id', 'ro-cwd', '--quiet', '--', 'echo', 'from a read-only cwd'], { RUNLOG_HUB: hub.url, RUNLOG_DATA: undefined }, mount);
    expect(answer.code, answer.stderr).toBe(0);
    expect(answer.stderr).toContain('runlog:');
    const lines = await runRecords(hub.url, 'ro-cwd');
    expect(lines.map((line) => line.message)).toContain('from a read-only cwd');
  } finally {
    hub.child.kill('SIGKILL');
    spawnSync('umount', ['-l', mount]);
  }
}, 30_000);

// they failed naming the first file that failed there (secret.key, the follow folder), or hung on /proc
it('server, worker and follow refuse a --data they cannot write in, exit 2 naming --data', async () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, '');
  for (const args of [
    ['server', '--port', '0', '--data', file],
    ['server', '--port', '0', '--data', '/proc/x'],
    ['worker', '--id', 'w1', '--hub', 'http://127.0.0.1:1', '--data', file],
    ['follow', join(tempDir(), 'x.log'), '--run', 'r1', '--hub', 'http://127.0.0.1:1', '--data', file],
  ]) {
    const answer = await cli(args);
    expect(answer.code, args.join(' ')).toBe(2);
    expect(answer.stderr, args.join(' ')).toContain(`runlog: --data ${args.at(-1)}: runlog cannot write there (`);
  }
}, 30_000);
