import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gpusOf } from './gpus.ts';

/** Anything a heartbeat's `gpus` may hold: JSON of any shape, with the GPU fields often present and wrong. */
const junkValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(NaN, Infinity, -Infinity, -1, -0.5, 1e300, Number.MAX_VALUE, '12', '<img src=x onerror=alert(1)>', null, true, [], {}),
  fc.double(),
);
const junkGpu = fc.oneof(
  junkValue,
  fc.record(
    {
      index: junkValue,
      uuid: junkValue,
      name: junkValue,
      utilization_gpu: junkValue,
      memory_total_mb: junkValue,
      memory_used_mb: junkValue,
      temperature_c: junkValue,
      power_draw_w: junkValue,
    },
    { requiredKeys: [] },
  ),
);

describe('gpusOf', () => {
  it('never throws on junk, and never yields NaN, a negative or an absurd reading, or a name that is not text', () => {
    fc.assert(
      fc.property(fc.oneof(junkValue, fc.array(junkGpu, { maxLength: 10 })), (list) => {
        for (const gpu of gpusOf(list)) {
          expect(Number.isInteger(gpu.index) && gpu.index >= 0).toBe(true);
          for (const value of [gpu.utilization_gpu, gpu.memory_total_mb, gpu.memory_used_mb, gpu.temperature_c, gpu.power_draw_w]) {
            if (value !== null) expect(Number.isFinite(value) && value >= 0).toBe(true);
          }
          if (gpu.memory_total_mb !== null) expect(gpu.memory_total_mb).toBeLessThanOrEqual(1024 * 1024);
          if (gpu.utilization_gpu !== null) expect(gpu.utilization_gpu).toBeLessThanOrEqual(100);
          for (const label of [gpu.name, gpu.uuid]) expect(label === null || typeof label === 'string').toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a well-formed GPU as it came, and drops entries that are not objects', () => {
    const a5000 = { index: 0, uuid: 'GPU-1', name: 'NVIDIA RTX A5000', utilization_gpu: 87, memory_total_mb: 24564, memory_used_mb: 20000, temperature_c: 71, power_draw_w: 212.5 };
    expect(gpusOf([a5000, 'GPU1', 3, null, [a5000]])).toEqual([a5000]);
  });

  it('reads strings in numeric fields, NaN, negatives and absurd values as no data, and a name of markup as plain text', () => {
    const [gpu] = gpusOf([{ index: '1', name: '<b>A100</b>', memory_total_mb: '80000', memory_used_mb: -5, utilization_gpu: 250, temperature_c: NaN, power_draw_w: 1e12 }]);
    expect(gpu).toEqual({ index: 0, uuid: null, name: '<b>A100</b>', utilization_gpu: null, memory_total_mb: null, memory_used_mb: null, temperature_c: null, power_draw_w: null });
    expect(gpusOf([{ name: { type: 'script', props: {} } }])[0]?.name).toBeNull();
    expect(gpusOf('many')).toEqual([]);
  });
});
