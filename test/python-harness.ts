/**
 * What the Python client's tests share (python.test.ts, python-sigterm.test.ts): Debian's
 * /usr/bin/python3 running the client from clients/python against a real hub, the hubs and
 * processes ended after each test. Skips, saying why, without python3 or loguru; fails instead in
 * strict mode (RUNLOG_TEST_STRICT=1).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import type { Run, SystemLog } from '../src/store/store.js';
import { FIXTURES, getJson, hubOn, PYTHON, ROOT, tempDir, waitFor } from './helpers.js';

export const PROGRAMS = join(FIXTURES, 'runlog_py');
export const CLIENT = join(ROOT, 'clients', 'python');
export const strict = process.env.RUNLOG_TEST_STRICT === '1';

export function missing(what: string, probe: () => boolean): string | undefined {
  if (probe()) return undefined;
  if (strict) throw new Error(`python client tests: ${what} is missing (strict mode: not skipping)`);
  console.warn(`python client tests: ${what} is missing: skipping`);
  return what;
}

export const noPython = missing(PYTHON, () => existsSync(PYTHON));
export const noLoguru = noPython ?? missing('python3-loguru (import loguru)', () => spawnSync(PYTHON, ['-c', 'import loguru']).status === 0);

/** the hubs the current test started (a test that closed one itself empties it) */
export const hubs: RunningHub[] = [];
let children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  await Promise.all(hubs.splice(0).map((hub) => hub.close().catch(() => {})));
});

export async function newHub(dataDir = tempDir(), port = 0): Promise<RunningHub> {
  const hub = await hubOn(dataDir, port);
  hubs.push(hub);
  return hub;
}

export interface Program {
  child: ChildProcess;
  /** resolves with the exit code once the process has ended */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** the first `n` lines printed on stdout */
  lines(n: number): Promise<string[]>;
}

/** `program`: a file of test/fixtures/runlog_py, or an absolute path (see pythonCode). */
export function python(program: string, args: string[], env: Record<string, string>): Program {
  const child = spawn(PYTHON, [isAbsolute(program) ? program : join(PROGRAMS, program), ...args], {
    env: { ...process.env, PYTHONPATH: CLIENT, RUNLOG_SPOOL: tempDir('runlog-spool-'), RUNLOG_TOKEN: '', RUNLOG_TOKEN_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const lines = (n: number) =>
    waitFor(() => {
      const got = stdout.split('\n').filter((line) => line !== '');
      return got.length >= n ? got.slice(0, n) : undefined;
    }, 20_000, `${n} lines from ${program} (stderr: ${stderr})`);
  return { child, done, lines };
}

/** A program of a few lines, written to a file of its own (python() then runs it). */
export function pythonCode(lines: string[], env: Record<string, string>): Program {
  const file = join(tempDir('runlog-py-'), 'program.py');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return python(file, [], env);
}

/** The run's lines; none while the hub does not know the run yet. */
export async function runLines(hub: string, id: string): Promise<WireRecord[]> {
  const { status, body } = await getJson<{ logs: WireRecord[] }>(`${hub}/api/runs/${id}/logs?limit=10000`);
  return status === 200 ? body.logs : [];
}

export async function run(hub: string, id: string): Promise<Run> {
  return (await getJson<Run>(`${hub}/api/runs/${id}`)).body;
}

export async function ended(hub: string, id: string): Promise<Run> {
  return waitFor(async () => {
    const { status, body } = await getJson<Run>(`${hub}/api/runs/${id}`);
    return status === 200 && body.status !== 'running' ? body : undefined;
  }, 20_000, `run ${id} to end`);
}

/** A port nothing listens on now (the hub comes up there later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A run that logging_program.py left in a spool, its hub away at its exit; then a hub where that was. */
export async function runLeftInSpool(): Promise<{ spool: string; hub: RunningHub; leftId: string }> {
  const spool = tempDir('runlog-spool-');
  const port = await freePort();
  const early = python('logging_program.py', ['ok'], { RUNLOG_HUB: `http://127.0.0.1:${port}`, RUNLOG_SPOOL: spool });
  const [leftId] = await early.lines(1);
  expect((await early.done).code).toBe(0);
  return { spool, hub: await newHub(tempDir(), port), leftId: leftId! };
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A worker's own lines on the hub, by seq. */
export async function workerLines(hub: string, id: string): Promise<SystemLog[]> {
  const { body } = await getJson<{ logs: SystemLog[] }>(`${hub}/api/logs?source_id=${id}&limit=10000`);
  return body.logs.sort((a, b) => a.seq - b.seq);
}
