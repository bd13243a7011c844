import { describe, expect, it } from 'vitest';
import { formatGpus } from '../cli/commands/gpu.js';
import { parseNvidiaSmiCsv, snapshotOf, type GpuInfo } from './gpu.js';

const gpu = (overrides: Partial<GpuInfo> = {}): GpuInfo => ({
  index: 0,
  uuid: 'GPU-0',
  name: 'NVIDIA A100-SXM4-40GB',
  utilization_gpu: 0,
  memory_total_mb: 40960,
  memory_used_mb: 38,
  temperature_c: 36,
  power_draw_w: 66.92,
  ...overrides,
});

describe('parseNvidiaSmiCsv', () => {
  it('reads one row per GPU, in the order printed', () => {
    const gpus = parseNvidiaSmiCsv(
      '0, GPU-12345678-aaaa-bbbb-cccc-0123456789ab, NVIDIA RTX A5000, 0, 24564, 22437, 13, 6.41\n' +
        '1, GPU-12345678-aaaa-bbbb-cccc-0123456789cd, NVIDIA RTX A5000, 97, 24564, 17253, 15, 213.60\n',
    );
    expect(gpus).toEqual([
      { index: 0, uuid: 'GPU-12345678-aaaa-bbbb-cccc-0123456789ab', name: 'NVIDIA RTX A5000', utilization_gpu: 0, memory_total_mb: 24564, memory_used_mb: 22437, temperature_c: 13, power_draw_w: 6.41 },
      { index: 1, uuid: 'GPU-12345678-aaaa-bbbb-cccc-0123456789cd', name: 'NVIDIA RTX A5000', utilization_gpu: 97, memory_total_mb: 24564, memory_used_mb: 17253, temperature_c: 15, power_draw_w: 213.6 },
    ]);
  });

  it("reads a row of two numbers as memory.total, memory.used (the seeds' own query), units or not, and skips other short rows", () => {
    const gpus = parseNvidiaSmiCsv('memory.total [MiB], memory.used [MiB]\n24576, 1024\n81559 MiB, 59 MiB\nNo devices were found\nerror, 12\n');
    expect(gpus).toEqual([
      { index: 0, uuid: null, name: null, utilization_gpu: null, memory_total_mb: 24576, memory_used_mb: 1024, temperature_c: null, power_draw_w: null },
      { index: 1, uuid: null, name: null, utilization_gpu: null, memory_total_mb: 81559, memory_used_mb: 59, temperature_c: null, power_draw_w: null },
    ]);
    expect(snapshotOf(gpus)).toMatchObject({ vram_total_mb: 106135, vram_used_mb: 1083 });
  });

  it('gives null utilization for a GPU in MIG mode, which nvidia-smi prints as [N/A]', () => {
    const [h100] = parseNvidiaSmiCsv('0, GPU-00000000-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, [N/A], 81559, 59, 42, 71.15\n');
    expect(h100).toMatchObject({ utilization_gpu: null, memory_total_mb: 81559, memory_used_mb: 59, temperature_c: 42, power_draw_w: 71.15 });
  });

  it('gives null for [Not Supported], [N/A], bare N/A, errors in brackets and empty fields', () => {
    const [geforce, lost, blank] = parseNvidiaSmiCsv(
      '0, GPU-a, GeForce GTX 750 Ti, [Not Supported], 2000, 100, 35, [Not Supported]\n' +
        '1, [N/A], [Unknown Error], N/A, [GPU is lost], [N/A], Not Supported, [N/A]\n' +
        '2, , , , , , , \n',
    );
    expect(geforce).toMatchObject({ utilization_gpu: null, memory_total_mb: 2000, power_draw_w: null });
    expect(lost).toEqual({ index: 1, uuid: null, name: null, utilization_gpu: null, memory_total_mb: null, memory_used_mb: null, temperature_c: null, power_draw_w: null });
    expect(blank).toMatchObject({ index: 2, uuid: null, name: null, memory_total_mb: null });
  });

  it('ignores spaces and tabs around fields, Windows CRLF, a BOM and a missing final newline', () => {
    const text = '\uFEFF  0 ,GPU-a ,  NVIDIA GeForce RTX 2080 SUPER  , 3 ,8192,  862 , 29\t, 14.50   \r\n1, GPU-b, NVIDIA GeForce RTX 2080, 2, 8192, 100, 30, 15.00';
    expect(parseNvidiaSmiCsv(text)).toEqual([
      { index: 0, uuid: 'GPU-a', name: 'NVIDIA GeForce RTX 2080 SUPER', utilization_gpu: 3, memory_total_mb: 8192, memory_used_mb: 862, temperature_c: 29, power_draw_w: 14.5 },
      { index: 1, uuid: 'GPU-b', name: 'NVIDIA GeForce RTX 2080', utilization_gpu: 2, memory_total_mb: 8192, memory_used_mb: 100, temperature_c: 30, power_draw_w: 15 },
    ]);
  });

  it('reads values with their units when they slip in ("250.00 W", "81559 MiB", "45 %")', () => {
    const [p100] = parseNvidiaSmiCsv('0, GPU-ef1b, Tesla P100-PCIE-16GB, 45 %, 16280 MiB, 103 MiB, 37 C, 250.00 W\n');
    expect(p100).toMatchObject({ utilization_gpu: 45, memory_total_mb: 16280, memory_used_mb: 103, temperature_c: 37, power_draw_w: 250 });
  });

  it('keeps a name that holds a comma whole (nvidia-smi does not quote)', () => {
    const [odd] = parseNvidiaSmiCsv('0, GPU-a, Acme, Inc. Tensor 9000, 1, 100, 10, 40, 50.5\n');
    expect(odd).toMatchObject({ name: 'Acme, Inc. Tensor 9000', utilization_gpu: 1, memory_total_mb: 100, power_draw_w: 50.5 });
  });

  it('reads the columns by the names of the header line, in whatever order and number they come', () => {
    const reordered = parseNvidiaSmiCsv(
      'memory.used [MiB], name, memory.total [MiB], index, power.draw [W]\n' +
        '1024, NVIDIA H200, 143771, 0, 120.5\n' +
        '59, Acme, Inc. Tensor 9000, 81559, 1, [N/A]\n',
    );
    expect(reordered).toEqual([
      { index: 0, uuid: null, name: 'NVIDIA H200', utilization_gpu: null, memory_total_mb: 143771, memory_used_mb: 1024, temperature_c: null, power_draw_w: 120.5 },
      { index: 1, uuid: null, name: 'Acme, Inc. Tensor 9000', utilization_gpu: null, memory_total_mb: 81559, memory_used_mb: 59, temperature_c: null, power_draw_w: null },
    ]);
    // used before total and no index: read by name, numbered in order; a row with text where a number goes is not a GPU
    const [first, second, third] = parseNvidiaSmiCsv('memory.used [MiB], memory.total [MiB]\n100, 24576\nerror, 12\n200, 24576\n');
    expect([first?.index, first?.memory_used_mb, first?.memory_total_mb]).toEqual([0, 100, 24576]);
    expect([second?.index, second?.memory_used_mb]).toEqual([1, 200]);
    expect(third).toBeUndefined();
    expect(snapshotOf(parseNvidiaSmiCsv('memory.used [MiB], memory.total [MiB]\n100, 24576\n'))).toMatchObject({ vram_total_mb: 24576, vram_used_mb: 100 });
  });

  it('skips what is not a GPU row: a header, driver errors, garbage, nothing', () => {
    const text = [
      'index, uuid, name, utilization.gpu [%], memory.total [MiB], memory.used [MiB], temperature.gpu, power.draw [W]',
      'Failed to initialize NVML: Driver/library version mismatch',
      'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.',
      'a,b,c,d,e,f,g,h',
      '0, GPU-a, short row',
      '\x00\xff binary',
      '',
      '3, GPU-d, NVIDIA L4, 5, 23034, 0, 40, 16.3',
    ].join('\n');
    expect(parseNvidiaSmiCsv(text).map((g) => g.index)).toEqual([3]);
    expect(parseNvidiaSmiCsv('')).toEqual([]);
    expect(parseNvidiaSmiCsv('No devices were found\n')).toEqual([]);
  });
});

describe('snapshotOf', () => {
  it('sums memory over the GPUs that report it, and is null when none does', () => {
    expect(snapshotOf([gpu(), gpu({ index: 1, memory_total_mb: 81920, memory_used_mb: null })], 1)).toEqual({
      gpus: expect.any(Array),
      vram_total_mb: 40960 + 81920,
      vram_used_mb: 38,
      at: 1,
    });
    expect(snapshotOf([gpu({ memory_total_mb: null, memory_used_mb: null })], 1)).toMatchObject({ vram_total_mb: null, vram_used_mb: null });
    expect(snapshotOf([], 1, 'nvidia-smi not found')).toEqual({ gpus: [], vram_total_mb: null, vram_used_mb: null, error: 'nvidia-smi not found', at: 1 });
  });
});

describe('formatGpus (runlog gpu)', () => {
  it('prints a table with a dash for what nvidia-smi does not know', () => {
    const text = formatGpus(snapshotOf([gpu(), gpu({ index: 1, utilization_gpu: null, power_draw_w: null })], 1));
    expect(text.split('\n')).toEqual([
      'GPU  NAME                   UTIL  MEMORY (MiB)  TEMP  POWER',
      '0    NVIDIA A100-SXM4-40GB  0%    38 / 40960    36°C  66.9 W',
      '1    NVIDIA A100-SXM4-40GB  -     38 / 40960    36°C  -',
      'total memory: 76 / 81920 MiB',
      '',
    ]);
  });

  it('says plainly when there is no GPU, and why', () => {
    expect(formatGpus(snapshotOf([], 1, 'nvidia-smi not found (no NVIDIA driver here?)'))).toBe('No GPU found: nvidia-smi not found (no NVIDIA driver here?)\n');
  });
});
