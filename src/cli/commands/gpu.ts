/**
 * `runlog gpu [--json]`: this machine's GPUs, as nvidia-smi reports them. No GPU or no nvidia-smi
 * is a fact about the machine, not an error: it is said plainly and the exit code is 0.
 */
import { terminalJson } from '../../core/terminal.js';
import { GpuProbe, type GpuInfo, type GpuSnapshot } from '../../agent/gpu.js';

export async function gpuCommand(options: { json?: boolean }, probe = new GpuProbe()): Promise<void> {
  const snapshot = await probe.snapshot();
  process.stdout.write(options.json ? `${terminalJson(snapshot)}\n` : formatGpus(snapshot));
}

export function formatGpus(snapshot: GpuSnapshot): string {
  if (snapshot.gpus.length === 0) return `No GPU found: ${snapshot.error ?? 'nvidia-smi listed none'}\n`;
  const rows = [['GPU', 'NAME', 'UTIL', 'MEMORY (MiB)', 'TEMP', 'POWER']];
  for (const gpu of snapshot.gpus) rows.push(row(gpu));
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  const lines = rows.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  if (snapshot.gpus.length > 1 && snapshot.vram_total_mb !== null) {
    lines.push(`total memory: ${value(snapshot.vram_used_mb)} / ${snapshot.vram_total_mb} MiB`);
  }
  if (snapshot.error !== undefined) lines.push(`warning: ${snapshot.error}`);
  if (snapshot.stale) lines.push(`stale: nvidia-smi is slow; this is its answer from ${new Date(snapshot.at).toISOString()}`);
  return `${lines.join('\n')}\n`;
}

function row(gpu: GpuInfo): string[] {
  return [
    String(gpu.index),
    gpu.name ?? '-',
    gpu.utilization_gpu === null ? '-' : `${gpu.utilization_gpu}%`,
    `${value(gpu.memory_used_mb)} / ${value(gpu.memory_total_mb)}`,
    gpu.temperature_c === null ? '-' : `${gpu.temperature_c}°C`,
    gpu.power_draw_w === null ? '-' : `${gpu.power_draw_w.toFixed(1)} W`,
  ];
}

function value(n: number | null): string {
  return n === null ? '-' : String(n);
}
