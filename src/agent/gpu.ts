/**
 * GPU state from `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`, for heartbeats,
 * diagnostics and `runlog gpu`.
 *
 * nvidia-smi can be slow (a driver without persistence mode takes seconds to wake) or hang (a GPU
 * fallen off the bus), and a status query must still cost under a second. So: one call at a time
 * (concurrent callers share it), its result kept for `cacheMs`, the tool killed after
 * `timeoutMs`, and when a call is slow and an earlier good answer exists, callers get that
 * answer, marked stale, after `waitMs` while the call goes on refreshing the cache.
 * Nothing here throws: a missing tool, a failing one or garbage output is a snapshot with no GPUs
 * and an `error` that says why.
 */
import { runTool } from './probe.js';

export interface GpuInfo {
  index: number;
  uuid: string | null;
  name: string | null;
  /** percent */
  utilization_gpu: number | null;
  memory_total_mb: number | null;
  memory_used_mb: number | null;
  temperature_c: number | null;
  power_draw_w: number | null;
}

export interface GpuSnapshot {
  gpus: GpuInfo[];
  /** sums over the GPUs that report them; null when none does */
  vram_total_mb: number | null;
  vram_used_mb: number | null;
  /** why there is no data: tool missing, timed out, failed, printed nothing readable */
  error?: string;
  /** an earlier answer, given because the current call is slow; `at` says how old it is */
  stale?: boolean;
  /** when the data was taken, ms since the epoch */
  at: number;
}

export interface GpuProbeOptions {
  command?: string;
  cacheMs?: number;
  timeoutMs?: number;
  waitMs?: number;
  /** the tool's environment (tests put a stand-in first on PATH) */
  env?: NodeJS.ProcessEnv;
}

export const QUERY_FIELDS = ['index', 'uuid', 'name', 'utilization.gpu', 'memory.total', 'memory.used', 'temperature.gpu', 'power.draw'] as const;
export const QUERY_ARGS = [`--query-gpu=${QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'] as const;

const DEFAULTS = {
  command: 'nvidia-smi',
  cacheMs: 5_000, // 5 s: heartbeats and status queries in a burst share one call
  timeoutMs: 2_000, // 2 s: past that the tool is killed
  waitMs: 500, // 0.5 s: how long a caller waits for a fresh answer when a stale one can stand in
};

/**
 * Rows of the query above; rows that are not GPU rows (banners, error text) are skipped. A row of
 * two numbers is read as `memory.total, memory.used`: what the seeds' own query
 * (`--query-gpu=memory.total,memory.used`) prints, and so what a wrapper or a stand-in made for it
 * answers whatever it is asked.
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    let fields = line.split(',').map((field) => field.trim());
    if (fields.length === 2) {
      const [total, used] = fields.map(numberValue);
      if (total !== null && total !== undefined && used !== null && used !== undefined) gpus.push(memoryOnly(gpus.length, total, used));
      continue;
    }
    if (fields.length < QUERY_FIELDS.length) continue;
    // nvidia-smi does not quote: a comma inside a name makes extra fields; the name is the only
    // free text, so it takes them back
    const extra = fields.length - QUERY_FIELDS.length;
    if (extra > 0) fields = [fields[0]!, fields[1]!, fields.slice(2, 3 + extra).join(', '), ...fields.slice(3 + extra)];
    const [index, uuid, name, util, total, used, temp, power] = fields;
    const position = integer(index);
    if (position === null) continue; // a header line, or text that happens to hold commas
    gpus.push({
      index: position,
      uuid: textValue(uuid),
      name: textValue(name),
      utilization_gpu: numberValue(util),
      memory_total_mb: numberValue(total),
      memory_used_mb: numberValue(used),
      temperature_c: numberValue(temp),
      power_draw_w: numberValue(power),
    });
  }
  return gpus;
}

function memoryOnly(index: number, total: number, used: number): GpuInfo {
  return { index, uuid: null, name: null, utilization_gpu: null, memory_total_mb: total, memory_used_mb: used, temperature_c: null, power_draw_w: null };
}

export function snapshotOf(gpus: GpuInfo[], at = Date.now(), error?: string): GpuSnapshot {
  const snapshot: GpuSnapshot = { gpus, vram_total_mb: sum(gpus, 'memory_total_mb'), vram_used_mb: sum(gpus, 'memory_used_mb'), at };
  if (error !== undefined) snapshot.error = error;
  return snapshot;
}

export class GpuProbe {
  private readonly options: Required<Omit<GpuProbeOptions, 'env'>> & Pick<GpuProbeOptions, 'env'>;
  private cached: GpuSnapshot | undefined;
  private lastGood: GpuSnapshot | undefined;
  private inflight: Promise<GpuSnapshot> | undefined;

  constructor(options: GpuProbeOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  async snapshot(): Promise<GpuSnapshot> {
    if (this.cached !== undefined && Date.now() - this.cached.at < this.options.cacheMs) return this.cached;
    this.inflight ??= this.query().finally(() => (this.inflight = undefined));
    const fallback = this.lastGood;
    if (fallback === undefined) return this.inflight;
    return firstOf(this.inflight, this.options.waitMs, { ...fallback, stale: true });
  }

  private async query(): Promise<GpuSnapshot> {
    const result = await runTool(this.options.command, QUERY_ARGS, { timeoutMs: this.options.timeoutMs, env: this.options.env });
    // a non-zero exit may still list the healthy GPUs (one fallen off the bus fails the call)
    const gpus = result.outcome === 'exit' ? parseNvidiaSmiCsv(result.stdout) : [];
    let error: string | undefined;
    if (result.outcome === 'missing') error = `${result.problem} (no NVIDIA driver here?)`;
    else if (!result.ok) error = result.problem;
    else if (gpus.length === 0) error = `nvidia-smi listed no GPU${excerpt(result.stdout)}`;
    const snapshot = snapshotOf(gpus, Date.now(), error);
    if (error === undefined) this.lastGood = snapshot;
    this.cached = snapshot;
    return snapshot;
  }
}

/** `promise`, or `fallback` if the promise has not settled within `ms`. */
function firstOf<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

// `[N/A]`, `[Not Supported]`, `[Unknown Error]`, `N/A`, '' all mean "no value"
function textValue(field: string | undefined): string | null {
  if (field === undefined || field === '' || /^\[.*\]$/.test(field) || /^(N\/A|Not Supported)$/i.test(field)) return null;
  return field;
}

// units slip in when someone drops `nounits` ("250.00 W", "81559 MiB", "45 %", "36 C")
function numberValue(field: string | undefined): number | null {
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*(?:W|MiB|%|C|°C))?$/i.exec(field ?? '');
  return match ? Number(match[1]) : null;
}

function excerpt(output: string): string {
  const line = output.trim().split(/\r?\n/)[0]?.trim();
  return line ? `: ${line.slice(0, 200)}` : '';
}

function integer(field: string | undefined): number | null {
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : null;
}

function sum(gpus: readonly GpuInfo[], key: 'memory_total_mb' | 'memory_used_mb'): number | null {
  const known = gpus.map((gpu) => gpu[key]).filter((value): value is number => value !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}
