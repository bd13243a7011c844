import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAlive, processStartTime, self } from './owner.js';

describe('isAlive', () => {
  it('says this process lives, and a process killed but not yet reaped (a zombie) does not', async () => {
    expect(isAlive(self('test'))).toBe(true);
    // the shell's child outlives nothing: its parent becomes `sleep`, which never reaps it
    const parent = spawn('/bin/sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number((await new Promise<Buffer>((resolve) => parent.stdout.once('data', resolve))).toString().trim());
    const owner = { pid, start: processStartTime(pid), kind: 'test' };
    expect(isAlive(owner)).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    expect(isAlive(owner)).toBe(false);
    parent.kill('SIGKILL');
  });
});
