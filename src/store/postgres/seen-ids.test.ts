import { describe, expect, it } from 'vitest';
import { SeenIds } from './seen-ids.js';

describe('SeenIds', () => {
  it('gives what lies past the ids told of, then takes it as seen', () => {
    const seen = new SeenIds(10);
    seen.add(11, 20);
    expect(seen.takeMissing(25)).toEqual([[21, 25]]);
    expect(seen.takeMissing(25)).toEqual([]);
  });

  it('gives the rows of a heartbeat that committed after a later one, its notice lost in the gap', () => {
    const seen = new SeenIds(0);
    seen.add(1, 99);
    seen.add(200, 299); // ids 100–199 in flight when the connection dropped
    expect(seen.takeMissing(320)).toEqual([
      [100, 199],
      [300, 320],
    ]);
  });

  it('merges ranges that touch, in any order, and ignores ids at or below its floor', () => {
    const seen = new SeenIds(5);
    seen.add(30, 40);
    seen.add(1, 8);
    seen.add(9, 29);
    expect(seen.takeMissing(40)).toEqual([]);
  });

  it('forgets holes far below the highest id seen', () => {
    const seen = new SeenIds(0);
    seen.add(1, 10);
    seen.add(12, 200_000);
    expect(seen.takeMissing(200_000)).toEqual([]);
  });
});
