/**
 * Diagnostics: what the runner collects when a run fails (DESIGN.md, "Runs, workers, tasks").
 *
 * Four probes (gpu, system, containers, commands) run at once, each under its own deadline. A
 * probe that throws, fails or hangs becomes `{ ok: false, note }` when its deadline passes, and
 * the tools it started are killed: diagnostics never crash the run, never change its exit code,
 * and never hold it up for longer than one probe's timeout.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, tmpdir, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import { isValidId } from '../core/record.js';
import { GpuProbe } from './gpu.js';
import { messageOf, runTool } from './probe.js';
import { makeDirectory } from '../core/make-dir.js';

export interface ProbeResult<T = unknown> {
  name: string;
  ok: boolean;
  data?: T;
  /** why it was skipped: failed, timed out, not available; or a caveat on its data */
  note?: string;
  ms: number;
}

export interface Diagnostics {
  collected_at: string;
  run_id: string;
  probes: ProbeResult[];
}

export interface CommandRecord {
  phase: string;
  command: string;
  exit_code: number | null;
  signal: string | null;
}

export interface DiagnosticsOptions {
  runId: string;
  commands: CommandRecord[];
  gpu?: GpuProbe;
  /** per probe, default 5000 */
  timeoutMs?: number;
  dockerCommand?: string;
  /** the run's working directory, whose disk is reported (default: this process's) */
  cwd?: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  command: string;
  state: string;
  status: string;
  created_at: string;
  /** the last lines of `docker logs`, stdout and stderr merged in time order */
  logs: { stream: 'stdout' | 'stderr'; time: string | null; line: string }[];
  logs_note?: string;
}

const PROBE_TIMEOUT_MS = 5_000;
const LOG_TAIL = 100;
const MAX_CONTAINERS = 20; // a run that started hundreds of containers gets the first 20
/** a container id or name as docker prints it; anything else never reaches the command line */
const CONTAINER_REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** A failure inside a probe that should read as a plain note, not a stack. */
class Skipped extends Error {}

export async function collectDiagnostics(options: DiagnosticsOptions): Promise<Diagnostics> {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const gpu = options.gpu ?? new GpuProbe();
  const docker = options.dockerCommand ?? 'docker';
  const probes = await Promise.all([
    probe('gpu', timeoutMs, async () => {
      const snapshot = await gpu.snapshot();
      if (snapshot.error !== undefined && snapshot.gpus.length === 0) throw new Skipped(snapshot.error);
      return { data: snapshot, note: snapshot.error ?? (snapshot.stale ? 'stale: nvidia-smi is slow, an earlier answer' : undefined) };
    }),
    probe('system', timeoutMs, async () => ({ data: await system(options.cwd ?? process.cwd()) })),
    probe('containers', timeoutMs, async (signal) => ({ data: await containers(docker, options.runId, timeoutMs, signal) })),
    probe('commands', timeoutMs, async () => ({ data: options.commands.map((command) => ({ ...command })) })),
  ]);
  return { collected_at: new Date().toISOString(), run_id: options.runId, probes };
}

/**
 * Writes `<dir>/diagnostics/<run-id>.json` (whole or not at all) and returns its path. Throws on an
 * invalid id or a failed write: the runner catches it, since diagnostics never fail a run.
 */
export function writeDiagnostics(dir: string, diagnostics: Diagnostics): string {
  // the caller checked the id already; a path is built from it here, so check again
  if (!isValidId(diagnostics.run_id)) throw new Error(`diagnostics: invalid run id ${JSON.stringify(diagnostics.run_id)}`);
  const folder = join(dir, 'diagnostics');
  makeDirectory(folder);
  const path = join(folder, `${diagnostics.run_id}.json`);
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(diagnostics, null, 2)}\n`);
  renameSync(partial, path);
  return path;
}

async function probe<T>(
  name: string,
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<{ data: T; note?: string | undefined }>,
): Promise<ProbeResult<T>> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ProbeResult<T>>((resolve) => {
    timer = setTimeout(() => {
      abort.abort(); // kills the tools the probe started
      resolve({ name, ok: false, note: `timed out after ${timeoutMs} ms`, ms: elapsed() });
    }, timeoutMs);
  });
  const work = (async (): Promise<ProbeResult<T>> => {
    try {
      const { data, note } = await run(abort.signal);
      return note === undefined ? { name, ok: true, data, ms: elapsed() } : { name, ok: true, data, note, ms: elapsed() };
    } catch (error) {
      return { name, ok: false, note: error instanceof Skipped ? error.message : `failed: ${messageOf(error)}`, ms: elapsed() };
    }
  })();
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function system(cwd: string) {
  const disk = async (path: string) => {
    try {
      const stats = await statfs(path);
      const total = stats.blocks * stats.bsize;
      const available = stats.bavail * stats.bsize;
      return { path, total_bytes: total, free_bytes: stats.bfree * stats.bsize, available_bytes: available, used_pct: total > 0 ? round(100 * (1 - available / total)) : null };
    } catch (error) {
      return { path, error: messageOf(error) };
    }
  };
  return {
    loadavg: loadavg().map(round),
    cpus: cpus().length,
    memory: { total_bytes: totalmem(), free_bytes: freemem() },
    uptime_s: { process: round(process.uptime()), system: round(uptime()) },
    disks: await Promise.all([disk(cwd), disk(tmpdir())]),
  };
}

async function containers(docker: string, runId: string, timeoutMs: number, signal: AbortSignal): Promise<ContainerInfo[]> {
  // the id goes into a docker filter argument: never an unchecked one
  if (!isValidId(runId)) throw new Skipped(`invalid run id ${JSON.stringify(runId)}`);
  const list = await runTool(docker, ['ps', '-a', '--filter', `label=runlog.run_id=${runId}`, '--format', '{{json .}}'], { timeoutMs, signal });
  if (!list.ok) throw new Skipped(list.outcome === 'missing' ? `${list.problem}: no docker CLI here` : (list.problem ?? 'docker ps failed'));
  const found = list.stdout.split(/\r?\n/).flatMap((line) => {
    const row = parseJsonObject(line);
    return row !== undefined && CONTAINER_REF.test(text(row.ID)) ? [row] : [];
  });
  return Promise.all(found.slice(0, MAX_CONTAINERS).map(async (row): Promise<ContainerInfo> => {
    const info: ContainerInfo = {
      id: text(row.ID),
      name: text(row.Names),
      image: text(row.Image),
      command: text(row.Command),
      state: text(row.State),
      status: text(row.Status),
      created_at: text(row.CreatedAt),
      logs: [],
    };
    // --timestamps lets the two pipes be merged back into the order the container printed them
    const logs = await runTool(docker, ['logs', '--tail', String(LOG_TAIL), '--timestamps', info.id], { timeoutMs, signal });
    if (!logs.ok) info.logs_note = logs.problem ?? 'docker logs failed';
    info.logs = mergeLogs(logs.stdout, logs.stderr).slice(-LOG_TAIL);
    return info;
  }));
}

function mergeLogs(stdout: string, stderr: string): ContainerInfo['logs'] {
  const keyed: { key: string; entry: ContainerInfo['logs'][number] }[] = [];
  for (const [stream, output] of [['stdout', stdout], ['stderr', stderr]] as const) {
    let key = ''; // a line without a timestamp sorts with the line before it
    const lines = output.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const raw of lines) {
      const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z (.*)$/s.exec(raw.replace(/\r$/, ''));
      if (match) key = `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}`; // fixed width: sorts as text
      const time = match ? raw.slice(0, raw.indexOf(' ')) : null;
      keyed.push({ key, entry: { stream, time, line: match ? match[3]! : raw.replace(/\r$/, '') } });
    }
  }
  // a stable sort keeps each pipe's own order among equal times
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ entry }) => entry);
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
