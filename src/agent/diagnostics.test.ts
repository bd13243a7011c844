import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../../test/helpers.js';
import { collectDiagnostics, writeDiagnostics, type ContainerInfo, type Diagnostics, type ProbeResult } from './diagnostics.js';
import { GpuProbe, snapshotOf, type GpuSnapshot } from './gpu.js';

const RUN_ID = 'run-42';
const COMMANDS = [
  { phase: 'setup', command: 'pip install -r requirements.txt', exit_code: 0, signal: null },
  { phase: 'run', command: 'python train.py', exit_code: 1, signal: null },
];

/** A GpuProbe that answers what it is told, or throws, or never answers. */
class StubGpu extends GpuProbe {
  constructor(private readonly answer: () => Promise<GpuSnapshot>) {
    super();
  }
  override snapshot(): Promise<GpuSnapshot> {
    return this.answer();
  }
}
const oneGpu = new StubGpu(async () =>
  snapshotOf([{ index: 0, uuid: 'GPU-a', name: 'NVIDIA L4', utilization_gpu: 100, memory_total_mb: 23034, memory_used_mb: 23000, temperature_c: 80, power_draw_w: 70 }]),
);

function probeOf(diagnostics: Diagnostics, name: string): ProbeResult {
  const found = diagnostics.probes.find((probe) => probe.name === name);
  if (found === undefined) throw new Error(`no ${name} probe`);
  return found;
}

function script(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}

/**
 * A stand-in docker CLI: `ps` lists two containers labelled with RUN_ID; `logs --tail N
 * --timestamps ID` prints the last N of the container's lines, each on the pipe it was written to.
 */
function fakeDocker(dir: string): string {
  return script(dir, 'docker', `#!${process.execPath}
const args = process.argv.slice(2);
const containers = [
  { Command: '"python train.py"', CreatedAt: '2024-05-01 10:00:00 +0000 UTC', ID: 'a1b2c3d4e5f6', Image: 'pytorch/pytorch:2.3.0', Labels: 'runlog.run_id=${RUN_ID}', Names: 'trainer', State: 'exited', Status: 'Exited (1) 2 minutes ago' },
  { Command: '"redis-server"', CreatedAt: '2024-05-01 09:59:58 +0000 UTC', ID: 'f6e5d4c3b2a1', Image: 'redis:7', Labels: 'runlog.run_id=${RUN_ID}', Names: 'cache', State: 'running', Status: 'Up 3 minutes' },
];
const lines = {
  // 150 lines, stdout and stderr taking turns
  a1b2c3d4e5f6: Array.from({ length: 150 }, (_, i) => [i % 2 ? 'stderr' : 'stdout', (i % 2 ? 'warn ' : 'step ') + i]),
  f6e5d4c3b2a1: [['stdout', 'Ready to accept connections'], ['stderr', 'WARNING overcommit_memory is set to 0']],
};
if (args.join(' ') === 'ps -a --filter label=runlog.run_id=${RUN_ID} --format {{json .}}') {
  for (const c of containers) console.log(JSON.stringify(c));
  console.log('not json: docker may print a warning line');
} else if (args[0] === 'logs' && args[1] === '--tail' && args[3] === '--timestamps' && lines[args[4]]) {
  const tail = lines[args[4]].slice(-Number(args[2]));
  tail.forEach(([stream, text], i) => {
    // 1 ms apart in one second, trailing zeros dropped as Go's RFC3339Nano does ('.01' is 10 ms,
    // '.011' 11 ms): sorted as plain text, these would come out of order
    const time = '2024-05-01T10:00:00.' + String((i + 1) * 1000000).padStart(9, '0').replace(/0+$/, '') + 'Z';
    (stream === 'stdout' ? process.stdout : process.stderr).write(time + ' ' + text + '\\n');
  });
} else {
  console.error('fake docker: unexpected ' + args.join(' '));
  process.exit(1);
}
`);
}

describe('collectDiagnostics', () => {
  it('collects gpu, system, containers and commands, each with its time', async () => {
    const diagnostics = await collectDiagnostics({ runId: RUN_ID, commands: COMMANDS, gpu: oneGpu, dockerCommand: fakeDocker(tempDir()) });
    expect(diagnostics.run_id).toBe(RUN_ID);
    expect(Date.parse(diagnostics.collected_at)).not.toBeNaN();
    expect(diagnostics.probes.map((probe) => [probe.name, probe.ok])).toEqual([['gpu', true], ['system', true], ['containers', true], ['commands', true]]);
    for (const probe of diagnostics.probes) expect(probe.ms).toBeGreaterThanOrEqual(0);
    expect(probeOf(diagnostics, 'gpu').data).toMatchObject({ vram_used_mb: 23000 });
    expect(probeOf(diagnostics, 'commands').data).toEqual(COMMANDS);

    const system = probeOf(diagnostics, 'system').data as { cpus: number; loadavg: number[]; memory: { total_bytes: number }; disks: { path: string; total_bytes: number }[] };
    expect(system.cpus).toBeGreaterThan(0);
    expect(system.loadavg).toHaveLength(3);
    expect(system.memory.total_bytes).toBeGreaterThan(0);
    expect(system.disks).toHaveLength(2);
    for (const disk of system.disks) expect(disk.total_bytes).toBeGreaterThan(0);
  });

  it('lists the containers labelled with the run id and their last 100 lines, stdout and stderr in order', async () => {
    const diagnostics = await collectDiagnostics({ runId: RUN_ID, commands: [], gpu: oneGpu, dockerCommand: fakeDocker(tempDir()) });
    const [trainer, cache] = probeOf(diagnostics, 'containers').data as ContainerInfo[];
    expect(trainer).toMatchObject({ id: 'a1b2c3d4e5f6', name: 'trainer', image: 'pytorch/pytorch:2.3.0', state: 'exited', status: 'Exited (1) 2 minutes ago' });
    expect(trainer!.logs).toHaveLength(100);
    const expected = Array.from({ length: 100 }, (_, k) => (k % 2 ? ['stderr', `warn ${50 + k}`] : ['stdout', `step ${50 + k}`]));
    expect(trainer!.logs.map((entry) => [entry.stream, entry.line])).toEqual(expected);
    expect(trainer!.logs.at(-1)).toMatchObject({ stream: 'stderr', line: 'warn 149', time: '2024-05-01T10:00:00.1Z' });
    expect(cache!.logs.map((entry) => entry.line)).toEqual(['Ready to accept connections', 'WARNING overcommit_memory is set to 0']);
  });

  it('skips containers with a note when the docker CLI is missing', async () => {
    const diagnostics = await collectDiagnostics({ runId: RUN_ID, commands: [], gpu: oneGpu, dockerCommand: join(tempDir(), 'docker') });
    expect(probeOf(diagnostics, 'containers')).toMatchObject({ ok: false, note: 'docker not found: no docker CLI here' });
  });

  it('skips containers with docker\'s own words when no engine answers (the real docker CLI here)', async () => {
    const containers = probeOf(await collectDiagnostics({ runId: `${RUN_ID}-${process.pid}`, commands: [], gpu: oneGpu }), 'containers');
    if (containers.ok) {
      expect(containers.data).toEqual([]); // an engine answered: nothing carries this fresh id
    } else {
      // this machine has the CLI and no engine: "Cannot connect to the Docker daemon at unix:///…"
      expect(containers.note).toMatch(/^docker (not found|exited with code \d+: .*(Cannot connect to the Docker daemon|docker))/i);
    }
  });

  it('cuts a hanging probe at its timeout and kills what it started, without holding up the others', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'sleep.pid');
    // a shell whose child holds the pipe: killing only the shell would leave us waiting
    const docker = script(dir, 'docker', `#!/bin/sh\nsleep 30 &\necho $! > '${pidFile}'\nwait\n`);
    const hangingGpu = new StubGpu(() => new Promise<GpuSnapshot>(() => {}));
    const started = performance.now();
    const diagnostics = await collectDiagnostics({ runId: RUN_ID, commands: COMMANDS, gpu: hangingGpu, dockerCommand: docker, timeoutMs: 500 });
    expect(performance.now() - started).toBeLessThan(5_000); // well before the tool would have finished
    expect(probeOf(diagnostics, 'containers')).toMatchObject({ ok: false, note: 'timed out after 500 ms' });
    expect(probeOf(diagnostics, 'gpu')).toMatchObject({ ok: false, note: 'timed out after 500 ms' });
    expect(probeOf(diagnostics, 'system').ok).toBe(true);
    expect(probeOf(diagnostics, 'commands').ok).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => (isGone(pid) ? true : undefined), 5_000, 'the hanging docker to be killed');
  });

  it('turns a probe that throws into a note', async () => {
    const broken = new StubGpu(async () => {
      throw new Error('NVML exploded');
    });
    const diagnostics = await collectDiagnostics({ runId: RUN_ID, commands: [], gpu: broken, dockerCommand: fakeDocker(tempDir()) });
    expect(probeOf(diagnostics, 'gpu')).toMatchObject({ ok: false, note: 'failed: NVML exploded' });
    expect(probeOf(diagnostics, 'containers').ok).toBe(true);
  });

  it('skips the gpu probe with the reason when there is no GPU, and reports a disk it cannot read', async () => {
    const noGpu = new StubGpu(async () => snapshotOf([], Date.now(), 'nvidia-smi not found (no NVIDIA driver here?)'));
    const diagnostics = await collectDiagnostics({ runId: RUN_ID, commands: [], gpu: noGpu, dockerCommand: fakeDocker(tempDir()), cwd: '/nonexistent/run-dir' });
    expect(probeOf(diagnostics, 'gpu')).toMatchObject({ ok: false, note: 'nvidia-smi not found (no NVIDIA driver here?)' });
    const system = probeOf(diagnostics, 'system');
    expect(system.ok).toBe(true);
    expect((system.data as { disks: unknown[] }).disks[0]).toMatchObject({ path: '/nonexistent/run-dir', error: expect.stringMatching(/ENOENT/) });
  });

  it('never passes an invalid run id to docker', async () => {
    const diagnostics = await collectDiagnostics({ runId: '--help', commands: [], gpu: oneGpu, dockerCommand: fakeDocker(tempDir()) });
    expect(probeOf(diagnostics, 'containers')).toMatchObject({ ok: false, note: 'invalid run id "--help"' });
  });
});

describe('writeDiagnostics', () => {
  it('writes <dir>/diagnostics/<run-id>.json as valid JSON, creating the folder', async () => {
    const dir = join(tempDir(), 'logs');
    const diagnostics = await collectDiagnostics({ runId: RUN_ID, commands: COMMANDS, gpu: oneGpu, dockerCommand: fakeDocker(tempDir()) });
    const path = writeDiagnostics(dir, diagnostics);
    expect(path).toBe(join(dir, 'diagnostics', `${RUN_ID}.json`));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(diagnostics);
    expect(readdirSync(join(dir, 'diagnostics'))).toEqual([`${RUN_ID}.json`]); // no partial file left
  });

  it('refuses a run id that could leave the folder', () => {
    const dir = tempDir();
    for (const id of ['../escape', '/etc/passwd', '', '.hidden']) {
      expect(() => writeDiagnostics(dir, { collected_at: new Date().toISOString(), run_id: id, probes: [] })).toThrow(/invalid run id/);
    }
    expect(existsSync(join(dir, 'diagnostics'))).toBe(false);
  });
});

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
