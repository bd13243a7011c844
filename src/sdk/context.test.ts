import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { currentTaskId, withTask } from './context.js';

describe('withTask', () => {
  it('has no task outside withTask', () => {
    expect(currentTaskId()).toBeUndefined();
  });

  it('returns what fn returns', async () => {
    expect(withTask('t1', () => 42)).toBe(42);
    await expect(withTask('t1', async () => 'done')).resolves.toBe('done');
  });

  it('keeps the task id across awaits, timers and promise chains', async () => {
    const seen: (string | undefined)[] = [];
    await withTask('task-1', async () => {
      seen.push(currentTaskId());
      await sleep(5);
      seen.push(currentTaskId());
      await new Promise<void>((resolve) => setTimeout(() => { seen.push(currentTaskId()); resolve(); }, 1));
      await Promise.resolve().then(() => seen.push(currentTaskId()));
      setImmediate(() => seen.push(currentTaskId()));
      await sleep(1);
    });
    expect(seen).toEqual(['task-1', 'task-1', 'task-1', 'task-1', 'task-1']);
    expect(currentTaskId()).toBeUndefined();
  });

  it('keeps two concurrent tasks apart under Promise.all', async () => {
    const seen: string[] = [];
    const work = (id: string, delays: number[]) =>
      withTask(id, async () => {
        for (const ms of delays) {
          await sleep(ms);
          seen.push(`${id}=${currentTaskId()}`);
        }
      });
    await Promise.all([work('a', [5, 1, 7, 2]), work('b', [1, 6, 2, 5])]);
    expect(seen).toHaveLength(8);
    for (const entry of seen) {
      const [id, current] = entry.split('=');
      expect(current).toBe(id);
    }
  });

  it('nests: the inner id wins inside, the outer one is back after', async () => {
    const seen: (string | undefined)[] = [];
    await withTask('outer', async () => {
      seen.push(currentTaskId());
      await withTask('inner', async () => {
        await sleep(1);
        seen.push(currentTaskId());
      });
      seen.push(currentTaskId());
    });
    expect(seen).toEqual(['outer', 'inner', 'outer']);
  });

  it('restores the outer id when the inner fn throws', () => {
    withTask('outer', () => {
      expect(() => withTask('inner', () => { throw new Error('boom'); })).toThrow('boom');
      expect(currentTaskId()).toBe('outer');
    });
  });
});
