/**
 * A worker's GPU list as the UI shows it. The hub stores whatever a heartbeat or a diagnostics
 * probe sent (any JSON objects: src/server/routes/workers.ts bounds their size, not their fields),
 * so each entry is cleaned here before a bar or a label is drawn from it: a reading that is not a
 * finite number in its plausible range is "no data", never NaN, a negative width or a 10 PB bar.
 */
import type { Gpu } from '../api/types.ts';

/** the upper bound of each reading; past it a value is a bug or junk, not a GPU */
const MAX = {
  index: 1024, // GPUs in one machine
  utilization_gpu: 100, // %
  memory_mb: 1024 * 1024, // 1 TiB: several times the largest GPU memory made
  temperature_c: 200, // °C: a GPU shuts down long before
  power_draw_w: 10_000, // W
  text: 200, // characters of a name or uuid (nvidia-smi's are < 100)
} as const;

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

/** a finite number in [0, max]: strings ("12"), NaN, Infinity, negatives and absurd values are no data */
function reading(value: unknown, max: number): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max ? value : null;
}

/** a string, cut; anything else (an object, a number) is no name: it is shown as text, never markup */
function text(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, MAX.text) : null;
}

/** The GPUs in a reported list (a worker's `gpus`, the gpu probe's `data.gpus`): objects only, each field cleaned. */
export function gpusOf(list: unknown): Gpu[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObj).map((gpu, position) => {
    const index = reading(gpu.index, MAX.index);
    return {
      index: index !== null && Number.isInteger(index) ? index : position,
      uuid: text(gpu.uuid),
      name: text(gpu.name),
      utilization_gpu: reading(gpu.utilization_gpu, MAX.utilization_gpu),
      memory_total_mb: reading(gpu.memory_total_mb, MAX.memory_mb),
      memory_used_mb: reading(gpu.memory_used_mb, MAX.memory_mb),
      temperature_c: reading(gpu.temperature_c, MAX.temperature_c),
      power_draw_w: reading(gpu.power_draw_w, MAX.power_draw_w),
    };
  });
}
