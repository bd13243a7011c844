/** Shared test plumbing: temporary directories, a real hub on an ephemeral port, the CLI as a child process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { startHub, type RunningHub } from '../src/server/listen.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'bin', 'runlog');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
/** Debian's python3 sees python3-tqdm; the first python3 on PATH may not */
export const PYTHON = '/usr/bin/python3';

export function tempDir(prefix = 'runlog-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function hubOn(dataDir: string, port = 0): Promise<RunningHub> {
  return startHub({ host: '127.0.0.1', port, dataDir, ssePingMs: 1000 }, { audit: () => {} });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/runlog ARGS` (the built CLI) and collects its output. */
/** `bin/runlog ARGS` with `env` over this process's (a variable undefined there is left out), in `cwd`. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> & { child: ChildProcess } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, RUNLOG_HUB: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolveResult) =>
    child.on('close', (code) => resolveResult({ code, stdout, stderr })),
  ) as Promise<CliResult> & { child: ChildProcess };
  done.child = child;
  return done;
}

/**
 * `cli`, with every process it starts SIGKILLed after each test of the file, so one a failed test
 * did not get to stop is not left running. Call it at a test file's top level.
 */
export function cliKilledAfterEach(): typeof cli {
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return (...args) => {
    const result = cli(...args);
    started.push(result.child);
    return result;
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

export interface HubProcess {
  url: string;
  child: ChildProcess;
}

/** `runlog server --host 127.0.0.1 --port 0 ARGS` as a child process; resolves with its URL once it listens. */
export function startHubProcess(args: string[]): Promise<HubProcess> {
  const child = spawn(process.execPath, [CLI, 'server', '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUNLOG_HUB: '' },
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve({ url: match[1], child });
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`hub exited (${code}) before listening: ${output}`)));
  });
}

/** A run's lines as the hub gives them (up to 10,000), none while the hub does not know the run. */
export async function runRecords(url: string, run: string): Promise<WireRecord[]> {
  const response = await fetch(`${url}/api/runs/${run}/logs?limit=10000`);
  if (response.status === 404) return [];
  return ((await response.json()) as { logs: WireRecord[] }).logs;
}

/**
 * A tmpfs of `size` (a real full disk: CI runs as root) at a fresh directory, or why it could not
 * be mounted (the test then skips, saying so, or fails in strict mode). `umount -l` it after.
 */
export function mountTmpfs(size: string): { dir: string } | { reason: string } {
  const dir = tempDir('runlog-full-');
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status !== 0) return { reason: `mount -t tmpfs failed: ${(result.stderr || result.error?.message || '').trim()}` };
  return { dir };
}

/** mountTmpfs for one test: its directory, or the test skipped saying why (failed in strict mode). */
export function tmpfsOrSkip(size: string, context: { skip: () => void }): string | undefined {
  const mount = mountTmpfs(size);
  if ('dir' in mount) return mount.dir;
  if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`RUNLOG_TEST_STRICT=1: ${mount.reason}`);
  console.warn(`skipped: ${mount.reason} (needs root)`);
  context.skip();
  return undefined;
}
