import { describe, expect, it } from 'vitest';
import { BatchClock } from './batch-clock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BatchClock', () => {
  it('releases every subscriber that held lines at one tick, once each, and none cancelled', async () => {
    const clock = new BatchClock(20);
    const released: string[] = [];
    const a = () => released.push('a');
    const b = () => released.push('b');
    const c = () => released.push('c');
    clock.schedule(a);
    clock.schedule(b);
    clock.schedule(a); // held more lines before the tick: still one release
    clock.schedule(c);
    clock.cancel(c); // released early (a full event, a progress update): not again at the tick
    expect(released).toEqual([]);
    await sleep(60);
    expect(released).toEqual(['a', 'b']);
    clock.schedule(c); // a new hold after the tick: the next tick
    await sleep(60);
    expect(released).toEqual(['a', 'b', 'c']);
  });

  it('builds the frames of the same held lines once, and again for other lines', () => {
    const clock = new BatchClock(20);
    let builds = 0;
    const build = (text: string) => () => {
      builds++;
      return text;
    };
    const first = clock.frames('1-50-50', build('frames of 1..50'));
    expect(clock.frames('1-50-50', build('not used'))).toBe(first);
    expect(first.toString()).toBe('frames of 1..50');
    expect(builds).toBe(1);
    // another subscriber's position: other lines, built for it
    expect(clock.frames('7-50-44', build('frames of 7..50')).toString()).toBe('frames of 7..50');
    expect(builds).toBe(2);
  });

  it('keeps frames only for the task that built them: later, the same seqs are built again (a run made again under its id)', async () => {
    const clock = new BatchClock(20);
    expect(clock.frames('1-3-3', () => 'old run').toString()).toBe('old run');
    await Promise.resolve();
    expect(clock.frames('1-3-3', () => 'new run').toString()).toBe('new run');
  });

  it('stop() forgets what was due: a stream without subscribers has no timer left', async () => {
    const clock = new BatchClock(10);
    let released = 0;
    clock.schedule(() => released++);
    clock.stop();
    await sleep(40);
    expect(released).toBe(0);
  });
});
