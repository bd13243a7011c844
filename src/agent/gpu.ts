/**
 * GPU state from `nvidia-smi --query-gpu=… --format=csv,nounits`, for heartbeats, diagnostics
 * and `runlog gpu`. The header line is asked for and each column read by the name it gives
 * (`memory.used [MiB], memory.total [MiB]`): a wrapper or stand-in printing the fields in another
 * order, or only some of them, is not misread. Rows without a header are read by position, as the
 * Python client does (clients/python/runlog/_gpu.py).
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
export const QUERY_ARGS = [`--query-gpu=${QUERY_FIELDS.join(',')}`, '--format=csv,nounits'] as const;

/** a field name of the query → where it goes */
const COLUMN_KEYS: Record<string, keyof GpuInfo> = {
  index: 'index',
  uuid: 'uuid',
  name: 'name',
  'utilization.gpu': 'utilization_gpu',
  'memory.total': 'memory_total_mb',
  'memory.used': 'memory_used_mb',
  'temperature.gpu': 'temperature_c',
  'power.draw': 'power_draw_w',
};
/** a header cell: a field name, with its unit in brackets when it has one ("memory.used [MiB]") */
const HEADER_CELL = /^([A-Za-z_][\w.]*)(?:\s*\[[^\]]*\])?$/;

const DEFAULTS = {
  command: 'nvidia-smi',
  cacheMs: 5_000, // 5 s: heartbeats and status queries in a burst share one call
  timeoutMs: 2_000, // 2 s: past that the tool is killed
  waitMs: 500, // 0.5 s: how long a caller waits for a fresh answer when a stale one can stand in
};

/**
 * The GPUs in nvidia-smi's CSV answer; rows that are not GPU rows (banners, error text) are
 * skipped. After a header line (the names of the fields asked, in any order, any of them) each row
 * is read by those names; the columns it has not are null. Without a header a row is read by
 * position: QUERY_FIELDS, or two numbers as `memory.total, memory.used`, what the seeds' own query
 * (`--query-gpu=memory.total,memory.used --format=csv,noheader`) prints, and so what a wrapper or
 * a stand-in made for it answers whatever it is asked.
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  let header: string[] | undefined;
  for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    const names = headerNames(fields);
    if (names !== undefined) {
      header = names;
      continue;
    }
    const gpu = header === undefined ? byPosition(fields, gpus.length) : byHeader(header, fields, gpus.length);
    if (gpu !== undefined) gpus.push(gpu);
  }
  return gpus;
}

/** The field names of a header line (units dropped); undefined when the line is not one. */
function headerNames(fields: string[]): string[] | undefined {
  const names: string[] = [];
  for (const field of fields) {
    const match = HEADER_CELL.exec(field);
    if (match === null) return undefined;
    names.push(match[1]!);
  }
  return names.includes('memory.total') || names.includes('memory.used') ? names : undefined;
}

/** nvidia-smi does not quote: a comma inside a name makes extra fields; the name is the only free text, so it takes them back */
function joinName(fields: string[], nameAt: number, expected: number): string[] {
  const extra = fields.length - expected;
  if (extra <= 0 || nameAt < 0) return fields;
  return [...fields.slice(0, nameAt), fields.slice(nameAt, nameAt + 1 + extra).join(', '), ...fields.slice(nameAt + 1 + extra)];
}

function byHeader(header: string[], row: string[], position: number): GpuInfo | undefined {
  const fields = joinName(row, header.indexOf('name'), header.length);
  if (fields.length !== header.length) return undefined;
  const gpu = memoryOnly(position, null, null);
  let index: number | null | undefined;
  for (const [at, name] of header.entries()) {
    const key = COLUMN_KEYS[name];
    const value = fields[at];
    if (key === undefined) continue;
    if (key === 'index') index = integer(value);
    else if (key === 'uuid' || key === 'name') gpu[key] = textValue(value);
    else {
      gpu[key] = numberValue(value);
      if (gpu[key] === null && textValue(value) !== null) return undefined; // text where a number goes ("error, 3"): not a GPU's row
    }
  }
  if (index === null) return undefined; // text that happens to hold as many commas
  if (index !== undefined) gpu.index = index;
  else if (gpu.memory_total_mb === null && gpu.memory_used_mb === null) return undefined;
  return gpu;
}

function byPosition(row: string[], position: number): GpuInfo | undefined {
  if (row.length === 2) {
    const [total, used] = row.map(numberValue);
    return total !== null && total !== undefined && used !== null && used !== undefined ? memoryOnly(position, total, used) : undefined;
  }
  if (row.length < QUERY_FIELDS.length) return undefined;
  const [index, uuid, name, util, total, used, temp, power] = joinName(row, 2, QUERY_FIELDS.length);
  const at = integer(index);
  if (at === null) return undefined; // text that happens to hold commas
  return {
    index: at,
    uuid: textValue(uuid),
    name: textValue(name),
    utilization_gpu: numberValue(util),
    memory_total_mb: numberValue(total),
    memory_used_mb: numberValue(used),
    temperature_c: numberValue(temp),
    power_draw_w: numberValue(power),
  };
}

function memoryOnly(index: number, total: number | null, used: number | null): GpuInfo {
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
