import { describe, it, expect } from 'vitest';
import { ErrorCause } from './cause.js';
import type { LogRecord } from './record.js';
import { TracebackGrouper } from './traceback.js';

/** The error cause of `text` as a run's stderr: lines marked by a grouper, as RecordBuilder does. */
function causeOf(text: string): string | undefined {
  const grouper = new TracebackGrouper();
  const cause = new ErrorCause();
  text.split('\n').forEach((message, i) => {
    const record: LogRecord = { stream: 'r', seq: i + 1, timestamp: 0, level: 'INFO', message, source: 'stderr' };
    cause.observe(record, grouper.mark(message, i + 1));
  });
  return cause.message();
}

const LAUNCHER_TRACEBACK = `Traceback (most recent call last):
  File "/usr/bin/torchrun", line 33, in <module>
    sys.exit(load_entry_point('torch==1.13.0a0+gitunknown', 'console_scripts', 'torchrun')())
  File "/usr/lib/python3/dist-packages/torch/distributed/launcher/api.py", line 246, in launch_agent
    raise ChildFailedError(
torch.distributed.elastic.multiprocessing.errors.ChildFailedError: `;

function box(rank: number, exitCode: number): string {
  return `============================================================
train.py FAILED
------------------------------------------------------------
Failures:
  <NO_OTHER_FAILURES>
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-12-03_13:31:12
  host      : localhost
  rank      : ${rank} (local_rank: ${rank})
  exitcode  : ${exitCode} (pid: 6841)
  error_file: <N/A>
  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html
============================================================`;
}

describe('ErrorCause', () => {
  it("takes the last traceback's exception line", () => {
    const text = `Traceback (most recent call last):
  File "t.py", line 1, in <module>
ValueError: first
Traceback (most recent call last):
  File "t.py", line 2, in <module>
torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB`;
    expect(causeOf(text)).toBe('torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB');
  });

  it("under torchrun, names the rank's exception, not the launcher's ChildFailedError", () => {
    const text = `rank 0 step 2
[default1]:Traceback (most recent call last):
[default1]:  File "/w/train.py", line 10, in <module>
[default1]:    x["missing"]
[default1]:KeyError: 'missing'
ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: 1) local_rank: 1 (pid: 6841) of binary: /usr/bin/python3.11
${LAUNCHER_TRACEBACK}
${box(1, 1)}`;
    expect(causeOf(text)).toBe("KeyError: 'missing' (in [default1])");
  });

  it('takes the first observed failure when several ranks fail', () => {
    const text = `[rank3]: Traceback (most recent call last):
[rank3]:   File "/w/train.py", line 10, in <module>
[rank3]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB
[rank0]: Traceback (most recent call last):
[rank0]:   File "/w/train.py", line 12, in <module>
[rank0]: RuntimeError: Connection closed by peer
${LAUNCHER_TRACEBACK}
${box(3, 1)}`;
    expect(causeOf(text)).toBe('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB (in [rank3])');
  });

  it("takes an unprefixed rank's traceback (torch 2.x without --tee), the last one: unprefixed lines cannot be told apart", () => {
    const text = `Traceback (most recent call last):
  File "/w/train.py", line 10, in <module>
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB
E1203 13:31:12.000000 42 torch/distributed/elastic/multiprocessing/api.py:874] failed (exitcode: 1) local_rank: 0 (pid: 43) of binary: /usr/bin/python3
${LAUNCHER_TRACEBACK}
${box(0, 1)}`;
    expect(causeOf(text)).toBe('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB');
  });

  it("says the root cause of torchrun's box when the rank printed no exception (killed by the OOM killer)", () => {
    expect(causeOf(`step 9\n${LAUNCHER_TRACEBACK}\n${box(5, -9)}`)).toBe(
      'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: train.py failed, rank 5 (local_rank: 5), exit code -9 (SIGKILL) (pid: 6841)',
    );
  });

  it("does not take an exception from long before the launcher's for its cause", () => {
    const old = `Traceback (most recent call last):\n  File "t.py", line 1, in <module>\nValueError: handled long ago`;
    const filler = Array.from({ length: 1500 }, (_, i) => `step ${i}`).join('\n');
    expect(causeOf(`${old}\n${filler}\n${LAUNCHER_TRACEBACK}\n${box(0, 1)}`)).toBe(
      'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: train.py failed, rank 0 (local_rank: 0), exit code 1 (pid: 6841)',
    );
  });

  it("names the child's exception behind a CalledProcessError (accelerate launch), and keeps the wrapper when there is none", () => {
    const child = `Traceback (most recent call last):\n  File "train.py", line 3, in <module>\nValueError: bad config`;
    const wrapper = `Traceback (most recent call last):
  File "/usr/bin/accelerate", line 8, in <module>
subprocess.CalledProcessError: Command '['python3', 'train.py']' returned non-zero exit status 1.`;
    expect(causeOf(`${child}\n${wrapper}`)).toBe('ValueError: bad config');
    expect(causeOf(wrapper)).toBe("subprocess.CalledProcessError: Command '['python3', 'train.py']' returned non-zero exit status 1.");
  });

  it('falls back to the last stderr lines without a traceback', () => {
    expect(causeOf('a\nb\nfatal: no such file')).toBe('a\nb\nfatal: no such file');
  });
});

describe('ErrorCause: what a launcher stands for, on the edges', () => {
  it("takes a rank's outermost exception of a chain (raise … from …), not the inner one", () => {
    const text = `[rank1]: Traceback (most recent call last):
[rank1]:   File "/w/train.py", line 3, in load
[rank1]: FileNotFoundError: [Errno 2] No such file or directory: 'ckpt.pt'
[rank1]: 
[rank1]: The above exception was the direct cause of the following exception:
[rank1]: 
[rank1]: Traceback (most recent call last):
[rank1]:   File "/w/train.py", line 9, in <module>
[rank1]: RuntimeError: cannot resume from checkpoint
${LAUNCHER_TRACEBACK}
${box(1, 1)}`;
    expect(causeOf(text)).toBe('RuntimeError: cannot resume from checkpoint (in [rank1])');
  });

  it('takes the exception that stopped a rank, not one it handled and went on from', () => {
    const text = `[rank0]: Traceback (most recent call last):
[rank0]:   File "/w/log.py", line 3, in send
[rank0]: ConnectionError: wandb retrying
[rank0]: step 10 loss 0.5
[rank0]: Traceback (most recent call last):
[rank0]:   File "/w/train.py", line 9, in <module>
[rank0]: KeyError: 'lr'
${LAUNCHER_TRACEBACK}
${box(0, 1)}`;
    expect(causeOf(text)).toBe("KeyError: 'lr' (in [rank0])");
  });

  it('says the box when the rank was killed by a signal, even after an exception it handled', () => {
    const text = `[rank1]: Traceback (most recent call last):
[rank1]:   File "/w/log.py", line 3, in send
[rank1]: ConnectionError: wandb retrying
[rank1]: step 10 loss 0.5
${LAUNCHER_TRACEBACK}
${box(1, -9)}`;
    expect(causeOf(text)).toMatch(/ChildFailedError: train\.py failed, rank 1 \(local_rank: 1\), exit code -9 \(SIGKILL\)/);
  });

  it('keeps a CalledProcessError whose child printed no traceback right before it (a handled one long before does not count)', () => {
    const text = `Traceback (most recent call last):
  File "setup.py", line 2, in <module>
ImportError: No module named apex
building without apex
make: *** [all] Error 2
Traceback (most recent call last):
  File "build.py", line 9, in <module>
subprocess.CalledProcessError: Command '['make']' returned non-zero exit status 2.`;
    expect(causeOf(text)).toBe("subprocess.CalledProcessError: Command '['make']' returned non-zero exit status 2.");
  });

  it("keeps a CalledProcessError that ends its own chain, and a rank's own CalledProcessError as the rank's exception", () => {
    const chain = `Traceback (most recent call last):
  File "a.py", line 2, in <module>
ValueError: bad
During handling of the above exception, another exception occurred:
Traceback (most recent call last):
  File "a.py", line 4, in <module>
subprocess.CalledProcessError: Command '['cleanup']' returned non-zero exit status 1.`;
    expect(causeOf(chain)).toBe("subprocess.CalledProcessError: Command '['cleanup']' returned non-zero exit status 1.");
    const rank = `[rank1]: Traceback (most recent call last):
[rank1]:   File "/w/build.py", line 2, in <module>
[rank1]: subprocess.CalledProcessError: Command '['nvcc']' returned non-zero exit status 1.
${LAUNCHER_TRACEBACK}
${box(1, 1)}`;
    expect(causeOf(rank)).toBe("subprocess.CalledProcessError: Command '['nvcc']' returned non-zero exit status 1. (in [rank1])");
  });
});
