/**
 * What the memory tests share (runner-memory, hub-memory): a job that prints `lines` lines of
 * about ninety bytes as fast as Python can, and the kernel's high-water mark of a process's
 * resident memory (VmHWM), read from /proc; the scratch directories their runs are written in.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tempDir } from './helpers.js';

/** A Python program (for `python3 -c`) printing `lines` ~90-byte lines as fast as it can. */
export function printingJob(lines: number): string {
  return `import sys
w = sys.stdout.write
for i in range(${lines}):
    w("line %d of the job, padded to about ninety bytes like a training log line .......\\n" % i)`;
}

/** A process's peak resident memory so far, in kB (0 once it is gone). */
export function peakKbOf(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // gone between two looks
  }
}

/**
 * Temporary directories for runs of millions of lines: `scratch(prefix)` makes one, `removeScratch()`
 * (after each test) removes every one made.
 */
export function scratchDirs(): { scratch: (prefix: string) => string; removeScratch: () => void } {
  const dirs: string[] = [];
  return {
    scratch: (prefix) => {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir;
    },
    removeScratch: () => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
