/** A used/total bar: GPU memory, utilisation. Red past 90 %, amber past 75 %. */
import type { Gpu } from '../api/types.ts';
import { mib } from './format.ts';

export function Meter({ used, total, label, testId }: { used: number | null; total: number | null; label: string; testId?: string }) {
  const ratio = used !== null && total !== null && total > 0 ? Math.min(1, used / total) : null;
  const tone = ratio === null ? '' : ratio > 0.9 ? 'hot' : ratio > 0.75 ? 'warm' : '';
  return (
    <div class="meter" data-testid={testId} title={ratio === null ? 'no data' : `${Math.round(ratio * 100)} %`}>
      <div class="meter-label">{label}</div>
      <div class="meter-track">
        <div class={`meter-fill ${tone}`} style={{ width: `${ratio === null ? 0 : ratio * 100}%` }} />
      </div>
    </div>
  );
}

/** One row per GPU: name and readings, then its memory bar and its utilisation bar. */
export function GpuRows({ gpus }: { gpus: Gpu[] }) {
  if (gpus.length === 0) return <div class="muted small">no GPUs reported</div>;
  return (
    <div class="gpus">
      {gpus.map((gpu) => (
        <div class="gpu" key={gpu.uuid ?? gpu.index} data-testid="gpu">
          <div class="gpu-head small">
            <span class="mono gpu-index">GPU{gpu.index}</span>
            <span class="gpu-name" title={gpu.uuid ?? ''}>
              {gpu.name ?? ''}
            </span>
            <span class="spacer" />
            <span class="gpu-stats muted">
              {gpu.temperature_c !== null && <span>{gpu.temperature_c}°C</span>}
              {gpu.power_draw_w !== null && <span>{Math.round(gpu.power_draw_w)} W</span>}
            </span>
          </div>
          <div class="gpu-bars">
            <Meter used={gpu.memory_used_mb} total={gpu.memory_total_mb} label={`memory ${mib(gpu.memory_used_mb)} / ${mib(gpu.memory_total_mb)}`} testId="gpu-memory" />
            <Meter used={gpu.utilization_gpu} total={gpu.utilization_gpu === null ? null : 100} label={`util ${gpu.utilization_gpu === null ? '–' : `${gpu.utilization_gpu}%`}`} testId="gpu-util" />
          </div>
        </div>
      ))}
    </div>
  );
}
