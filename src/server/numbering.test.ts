import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../core/record.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { StreamNumbering } from './numbering.js';

const line = (stream: string, seq: number): LogRecord => ({ stream, seq, timestamp: 1, level: 'INFO', message: `line ${seq}` });

describe('StreamNumbering', () => {
  it('hands each writer of a stream the last seq stored by the one before it, one at a time', async () => {
    const store = new SqliteStore(':memory:');
    const numbering = new StreamNumbering(store);
    await store.appendRecords('s', [line('s', 3)]);
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, () =>
        numbering.exclusive('s', async (last) => {
          seen.push(last);
          await new Promise((resolve) => setImmediate(resolve)); // a write that takes a while
          await store.appendRecords('s', [line('s', last + 1), line('s', last + 2)]);
        }),
      ),
    );
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 3 + 2 * i));
    expect(await numbering.lastSeq('s')).toBe(43);
    await store.close();
  });

  it('lets the next writer go when one fails, and keeps streams apart', async () => {
    const store = new SqliteStore(':memory:');
    const numbering = new StreamNumbering(store);
    const failing = numbering.exclusive('a', async () => {
      throw new Error('store full');
    });
    await expect(failing).rejects.toThrow('store full');
    expect(await numbering.exclusive('a', async (last) => last)).toBe(0);
    await store.appendRecords('b', [line('b', 7)]);
    expect(await numbering.exclusive('b', async (last) => last)).toBe(7);
    await store.close();
  });
});
