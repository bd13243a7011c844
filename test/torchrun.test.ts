/**
 * `runlog run -- torchrun …`: Debian's real torchrun (python3-torch, on CPU with gloo) launching
 * two ranks, one of which fails. The run's error is the rank's exception, not torchrun's own
 * ChildFailedError, and the rank's traceback (behind torchrun's `[default1]:` prefix) is one
 * ERROR block. A rank killed by a signal prints nothing: the error says torchrun's root cause.
 *
 * Debian's torch 1.13 on Python 3.11 crashes in torchrun's own option parsing unless its
 * --redirects and --tee are given a single stream (`-r 2 -t 2`: stderr to a file, and teed with
 * the rank's prefix); that is how it is run here.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';

const TORCHRUN = '/usr/bin/torchrun';
const missing = spawnSync('/usr/bin/python3', ['-c', 'import torch.distributed'], { encoding: 'utf8' }).status === 0 ? undefined : 'Debian python3-torch (torchrun) is not installed';
if (missing !== undefined && process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`RUNLOG_TEST_STRICT=1: ${missing}`);
if (missing !== undefined) console.warn(`skipped: ${missing}`);

const TRAIN = `
import os, torch, torch.distributed as dist
dist.init_process_group("gloo")
rank = dist.get_rank()
for step in range(2):
    t = torch.ones(1)
    dist.all_reduce(t)
    print(f"rank {rank} step {step} sum {t.item()}", flush=True)
if rank == 1:
    if os.environ.get("FAIL") == "kill":
        os.kill(os.getpid(), 9)
    config = {}
    config["learning_rate"]
dist.destroy_process_group()
`;

interface Line {
  seq: number;
  level: string;
  message: string;
  attrs?: { group?: number };
}

async function torchrun(fail: 'raise' | 'kill') {
  const dir = tempDir('runlog-torchrun-');
  writeFileSync(join(dir, 'train.py'), TRAIN);
  const data = join(dir, 'data');
  const env = { FAIL: fail, OMP_NUM_THREADS: '1' };
  const run = await cli(['run', '--hub', 'none', '--data', data, '--id', 'ddp', '--cwd', dir, '--quiet', '--', TORCHRUN, '--nproc_per_node=2', '-r', '2', '-t', '2', 'train.py'], env);
  const shown = await cli(['runs', '--hub', 'none', '--data', data, '--json']);
  const logs = await cli(['logs', 'ddp', '--hub', 'none', '--data', data, '--json']);
  const [record] = JSON.parse(shown.stdout) as { status: string; exit_code: number; error_message: string }[];
  const lines = logs.stdout.trim().split('\n').map((line) => JSON.parse(line) as Line);
  return { code: run.code, run: record!, lines };
}

describe.skipIf(missing !== undefined)('runlog run -- torchrun (two ranks on CPU)', () => {
  it("a rank's exception is the run's error, and its prefixed traceback one ERROR block", { timeout: 120_000 }, async () => {
    const { code, run, lines } = await torchrun('raise');
    expect(code).toBe(1);
    expect(run).toMatchObject({ status: 'failed', exit_code: 1, error_message: "KeyError: 'learning_rate' (in [default1])" });
    const opener = lines.find((line) => line.message === '[default1]:Traceback (most recent call last):');
    expect(opener, lines.map((line) => line.message).join('\n')).toBeDefined();
    const block = lines.filter((line) => line.attrs?.group === opener!.seq);
    expect(block.at(-1)?.message).toBe("[default1]:KeyError: 'learning_rate'");
    expect(block.every((line) => line.level === 'ERROR' && line.message.startsWith('[default1]:'))).toBe(true);
    // the ranks' own lines are all there. torchrun runs them unbuffered (print writes its text and
    // its newline apart) on one shared stdout, so two ranks' lines can really come out as one:
    // `rank 1 step 1 sum 2.0rank 0 step 1 sum 2.0`, then an empty line.
    for (const rank of [0, 1]) expect(lines.some((line) => line.message.includes(`rank ${rank} step 1 sum 2.0`))).toBe(true);
  });

  it('a rank killed by SIGKILL (the OOM killer) prints nothing: the error is torchrun\'s root cause', { timeout: 120_000 }, async () => {
    const { code, run } = await torchrun('kill');
    expect(code).toBe(1);
    expect(run.status).toBe('failed');
    expect(run.error_message).toMatch(/^torch\.distributed\.elastic\.multiprocessing\.errors\.ChildFailedError: train\.py failed, rank 1 \(local_rank: 1\), exit code -9 \(SIGKILL\)/);
  });
});
