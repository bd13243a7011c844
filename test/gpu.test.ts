/**
 * GpuProbe against a stand-in nvidia-smi (test/fixtures/nvidia-smi) first on PATH, answering from
 * the real `nvidia-smi -q -x` captures in ../shared/corpus/nvidia_smi, and against the ways the
 * tool misbehaves: slow, missing, failing, printing garbage.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { GpuProbe, type GpuInfo, type GpuSnapshot } from '../src/agent/gpu.js';
import { gpuCommand } from '../src/cli/commands/gpu.js';
import { corpusDir } from './corpus.js';
import { FIXTURES, tempDir, waitFor } from './helpers.js';

const CAPTURES = corpusDir('nvidia_smi', 'gpu.test') ?? '';
const TOOL_SLEEP_S = 5;

/** The environment of a stand-in nvidia-smi: fixtures first on PATH, plus its FAKE_* settings. */
function fakeEnv(settings: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${FIXTURES}${delimiter}${process.env.PATH ?? ''}`, ...settings };
}

function spawns(countFile: string): number[] {
  try {
    return readFileSync(countFile, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function timed(probe: GpuProbe): Promise<{ snapshot: GpuSnapshot; ms: number }> {
  const started = performance.now();
  const snapshot = await probe.snapshot();
  return { snapshot, ms: performance.now() - started };
}

// What each capture holds, read from the XML by hand. `index` is the position of the <gpu>
// element: nvidia-smi lists GPUs in index order; minor_number is another number (see the fixture).
const KNOWN: Record<string, { count: number; vram: [used: number | null, total: number | null]; gpus: Record<number, Partial<GpuInfo>> }> = {
  // MIG mode: utilization is N/A, and the GPU's memory is not one of its MIG devices' (19968 MiB)
  'netdata_a100-sxm4-mig.xml': {
    count: 1,
    vram: [38, 40960],
    gpus: { 0: { uuid: 'GPU-27b94a00-ed54-5c24-b1fd-1054085de32a', name: 'NVIDIA A100-SXM4-40GB', utilization_gpu: null, temperature_c: 36, power_draw_w: 66.92 } },
  },
  // Windows: minor_number is N/A, the index is still 0
  'netdata_rtx-2080-win.xml': {
    count: 1,
    vram: [862, 8192],
    gpus: { 0: { index: 0, name: 'NVIDIA GeForce RTX 2080', utilization_gpu: 2, temperature_c: 29, power_draw_w: 14.5 } },
  },
  // minor numbers 1, 2, 3, 0 in document (PCI bus) order
  'pai_nvidia_smi_out_of_order.xml': {
    count: 4,
    vram: [587 + 587, 4 * 11441],
    gpus: {
      0: { index: 0, uuid: 'GPU-c3b26f7a-8dcb-619c-fa1b-8029265a4db0', name: 'Tesla K80', utilization_gpu: 99, temperature_c: 64, power_draw_w: 135.72 },
      3: { index: 3, uuid: 'GPU-3341aba2-f01d-2c1f-7dd4-e389779faec2', utilization_gpu: 0, memory_used_mb: 0, temperature_c: 26, power_draw_w: 34.44 },
    },
  },
  // almost nothing known: every number is N/A or absent
  'pai_nvidia_smi_outdated_gpu.xml': {
    count: 1,
    vram: [null, null],
    gpus: { 0: { name: 'GeForce GT 730', uuid: 'GPU-09cb2925-9d01-5ca4-810b-6cdebe86b71a', utilization_gpu: null, memory_total_mb: null, temperature_c: null, power_draw_w: null } },
  },
  // says 6 attached GPUs, holds 2
  'pai_nvidia_smi_sample.xml': {
    count: 2,
    vram: [2028 + 4057, 8112 + 8114],
    gpus: { 0: { utilization_gpu: 100, power_draw_w: 119.47 }, 1: { name: 'GeForce GTX 1070', utilization_gpu: 98, temperature_c: 59, power_draw_w: 139.3 } },
  },
  'pai_nvidia_smi_sample_ecc_unsupported.xml': {
    count: 2,
    vram: [0, 2 * 10989],
    gpus: { 0: { name: 'GeForce RTX 2080 Ti', power_draw_w: 2.12, temperature_c: 24 }, 1: { uuid: 'GPU-ef1d0068-5bfd-f1e4-7e79-ff35d71d44b8', power_draw_w: 19.11 } },
  },
  // says 4 attached GPUs, holds 1 (trimmed upstream); power under <gpu_power_readings>
  'telegraf_a100-sxm4-v12_4gpu.xml': {
    count: 1,
    vram: [50, 81920],
    gpus: { 0: { name: 'NVIDIA A100-SXM4-80GB', utilization_gpu: null, temperature_c: 27, power_draw_w: 67.03 } },
  },
  // DTD v13: no <power_draw>, only average_power_draw, which is what power.draw reports on Ampere
  'telegraf_dual_a5000-v13.xml': {
    count: 2,
    vram: [22437 + 17253, 2 * 24564],
    gpus: { 0: { uuid: 'GPU-12345678-aaaa-bbbb-cccc-0123456789ab', temperature_c: 13, power_draw_w: 6.41 }, 1: { memory_used_mb: 17253, temperature_c: 15, power_draw_w: 13.6 } },
  },
};

describe.skipIf(CAPTURES === '')('GpuProbe on the real nvidia-smi captures', () => {
  const xmls = CAPTURES === '' ? [] : readdirSync(CAPTURES).filter((name) => name.endsWith('.xml')).sort();

  it('has a stand-in answer for every capture described here', () => {
    expect(xmls).toEqual(expect.arrayContaining(Object.keys(KNOWN)));
  });

  it.each(xmls)('reads %s', async (name) => {
    const path = join(CAPTURES, name);
    const snapshot = await new GpuProbe({ env: fakeEnv({ FAKE_NVIDIA_SMI_CAPTURE: path }) }).snapshot();
    expect(snapshot.error).toBeUndefined();
    // as many GPUs as <gpu> elements, whatever <attached_gpus> claims
    expect(snapshot.gpus).toHaveLength(readFileSync(path, 'utf8').match(/<gpu id=/g)?.length ?? 0);
    expect(snapshot.gpus.map((gpu) => gpu.index)).toEqual(snapshot.gpus.map((_, i) => i));
    const known = KNOWN[name];
    if (known === undefined) return;
    expect(snapshot.gpus).toHaveLength(known.count);
    expect([snapshot.vram_used_mb, snapshot.vram_total_mb]).toEqual(known.vram);
    for (const [index, fields] of Object.entries(known.gpus)) expect(snapshot.gpus[Number(index)]).toMatchObject(fields);
  });

  it('prints a capture as a table through runlog gpu', async () => {
    const probe = new GpuProbe({ env: fakeEnv({ FAKE_NVIDIA_SMI_CAPTURE: join(CAPTURES, 'telegraf_dual_a5000-v13.xml') }) });
    const output = await captureStdout(() => gpuCommand({}, probe));
    expect(output).toContain('NVIDIA RTX A5000');
    expect(output).toContain('22437 / 24564');
    expect(output).toContain('total memory: 39690 / 49128 MiB');
    const json = JSON.parse(await captureStdout(() => gpuCommand({ json: true }, probe))) as GpuSnapshot;
    expect(json.gpus).toHaveLength(2);
  });
});

describe('GpuProbe when nvidia-smi misbehaves', () => {
  it('gives up on a hanging tool at its timeout, kills it, and answers from the cache the second time', async () => {
    const count = join(tempDir(), 'spawns');
    // the default timeout (2 s): a shorter one could kill the stand-in before it records its pid
    const probe = new GpuProbe({ env: fakeEnv({ FAKE_NVIDIA_SMI_SLEEP: String(TOOL_SLEEP_S), FAKE_NVIDIA_SMI_COUNT: count }) });
    const first = await timed(probe);
    expect(first.snapshot).toMatchObject({ gpus: [], vram_total_mb: null, error: expect.stringMatching(/timed out after 2000 ms/) });
    expect(first.ms).toBeLessThan(TOOL_SLEEP_S * 1000); // it did not wait for the tool
    const [pid] = spawns(count);
    await waitFor(() => (pid !== undefined && !alive(pid) ? true : undefined), 5_000, 'the hanging nvidia-smi to be killed');
    const second = await timed(probe);
    expect(second.snapshot).toBe(first.snapshot);
    expect(second.ms).toBeLessThan(1_000);
    expect(spawns(count)).toHaveLength(1);
  });

  it('answers a slow call with the last good snapshot, marked stale, instead of waiting', async () => {
    const dir = tempDir();
    const capture = join(dir, 'gpus.csv');
    writeFileSync(capture, '0, GPU-a, NVIDIA L4, 5, 23034, 1000, 40, 16.30\n');
    // the probe reads its env at each call: changing it between calls makes the tool slow
    const env = fakeEnv({ FAKE_NVIDIA_SMI_CAPTURE: capture });
    const probe = new GpuProbe({ cacheMs: 0, waitMs: 100, timeoutMs: 2_000, env });
    const good = await probe.snapshot();
    expect(good).toMatchObject({ vram_used_mb: 1000 });
    expect(good.stale).toBeUndefined();
    env.FAKE_NVIDIA_SMI_SLEEP = String(TOOL_SLEEP_S);
    const slow = await timed(probe);
    expect(slow.snapshot).toEqual({ ...good, stale: true });
    expect(slow.ms).toBeLessThan(TOOL_SLEEP_S * 1000);
  });

  it('says so when nvidia-smi is not installed, without throwing', async () => {
    const probe = new GpuProbe({ env: { ...process.env, PATH: tempDir() } });
    expect(await probe.snapshot()).toMatchObject({ gpus: [], vram_total_mb: null, vram_used_mb: null, error: expect.stringMatching(/nvidia-smi not found/) });
    const missing = await new GpuProbe({ command: '/nonexistent/nvidia-smi' }).snapshot();
    expect(missing.error).toMatch(/not found/);
  });

  it('reports a failing nvidia-smi with its exit code and message', async () => {
    const snapshot = await new GpuProbe({ env: fakeEnv({ FAKE_NVIDIA_SMI_EXIT: '9' }) }).snapshot();
    expect(snapshot.gpus).toEqual([]);
    expect(snapshot.error).toMatch(/exited with code 9: NVIDIA-SMI has failed because it couldn't communicate/);
  });

  it('reports a machine without GPUs', async () => {
    const snapshot = await new GpuProbe({ env: fakeEnv() }).snapshot();
    expect(snapshot).toMatchObject({ gpus: [], error: expect.stringMatching(/No devices were found/) });
    expect(await captureStdout(() => gpuCommand({}, new GpuProbe({ env: fakeEnv() })))).toMatch(/^No GPU found: .*No devices were found\n$/);
  });

  it('reads garbage output as no GPU, with the reason', async () => {
    const garbage = join(tempDir(), 'garbage.txt');
    writeFileSync(garbage, 'Segmentation fault, core dumped, at 0x0, in libnvidia-ml.so, again, and again, and again\n\x00\xff\n');
    const snapshot = await new GpuProbe({ env: fakeEnv({ FAKE_NVIDIA_SMI_CAPTURE: garbage }) }).snapshot();
    expect(snapshot).toMatchObject({ gpus: [], error: expect.stringMatching(/listed no GPU: Segmentation fault/) });
  });

  it('spawns nvidia-smi once for concurrent and cached calls, and again once the cache expires', async () => {
    const dir = tempDir();
    const count = join(dir, 'spawns');
    const capture = join(dir, 'gpus.csv');
    writeFileSync(capture, '0, GPU-a, NVIDIA L4, 5, 23034, 1000, 40, 16.30\n');
    const probe = new GpuProbe({ cacheMs: 1_000, env: fakeEnv({ FAKE_NVIDIA_SMI_CAPTURE: capture, FAKE_NVIDIA_SMI_COUNT: count }) });
    const answers = await Promise.all(Array.from({ length: 5 }, () => probe.snapshot()));
    expect(new Set(answers).size).toBe(1);
    await probe.snapshot();
    expect(spawns(count)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await probe.snapshot();
    expect(spawns(count)).toHaveLength(2);
  });
});

async function captureStdout(run: () => Promise<void>): Promise<string> {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return text;
}
