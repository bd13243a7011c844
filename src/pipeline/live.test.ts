import { describe, expect, it } from 'vitest';
import { fanoutHoldMs, LiveFanout, type LiveEvent } from './live.js';
import type { LogRecord } from '../core/record.js';
import type { Run } from '../store/store.js';

function records(stream: string, first: number, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, i) => ({ seq: first + i, stream, timestamp: 1_700_000_000_000_000 + first + i, level: 'INFO', message: `line ${first + i}`, source: 'stdout', phase: 'run' }) as LogRecord);
}

/** `count` subscribers of `stream`, each noting what it gets as [kind, seqs or frame's event]. */
function subscribe(live: LiveFanout, stream: string, count: number): string[][] {
  const seen: string[][] = [];
  for (let i = 0; i < count; i++) {
    const mine: string[] = [];
    seen.push(mine);
    live.subscribe(stream, (event: LiveEvent) => mine.push(event.type === 'records' ? `records ${event.batch.records.map((r) => r.seq).join(',')}` : event.type));
  }
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LiveFanout', () => {
  it('holds lines only for streams with many subscribers, longer for more, within 20 ms', () => {
    expect(fanoutHoldMs(1)).toBe(0);
    expect(fanoutHoldMs(9)).toBe(0);
    expect(fanoutHoldMs(50)).toBe(5);
    expect(fanoutHoldMs(200)).toBe(20);
    expect(fanoutHoldMs(5000)).toBe(20);
  });

  it('delivers at once to a few subscribers, each commit as it comes', () => {
    const live = new LiveFanout();
    const seen = subscribe(live, 'r1', 3);
    live.publishRecords('r1', records('r1', 1, 2));
    live.publishRecords('r1', records('r1', 3, 1));
    for (const mine of seen) expect(mine).toEqual(['records 1,2', 'records 3']);
  });

  it('gathers the commits of a stream with many subscribers into one delivery after the hold', async () => {
    const live = new LiveFanout();
    const seen = subscribe(live, 'r1', 60);
    live.publishRecords('r1', records('r1', 1, 2));
    live.publishRecords('r1', records('r1', 3, 2));
    expect(seen[0]).toEqual([]); // held
    await sleep(fanoutHoldMs(60) + 30);
    for (const mine of seen) expect(mine).toEqual(['records 1,2,3,4']);
    live.publishRecords('r1', records('r1', 5, 1)); // a new hold starts
    await sleep(fanoutHoldMs(60) + 30);
    expect(seen[59]).toEqual(['records 1,2,3,4', 'records 5']);
  });

  it('sends held lines before a progress update and before the run end, so a stream keeps its order', () => {
    const live = new LiveFanout();
    const seen = subscribe(live, 'r1', 60);
    live.publishRecords('r1', records('r1', 1, 3));
    live.publishProgress('r1', []); // nothing to say: the hold goes on
    expect(seen[0]).toEqual([]);
    live.publishProgress('r1', [{ source: 'stderr', text: ' 50%|#####     |', timestamp: 1_700_000_000_000_000 } as never]);
    live.publishRecords('r1', records('r1', 4, 1));
    live.publishEnd({ id: 'r1', status: 'completed' } as Run);
    for (const mine of seen) expect(mine).toEqual(['records 1,2,3', 'progress', 'records 4', 'end']);
  });

  it('drops what it holds for a stream whose subscribers all left, and delivers to those who remain', async () => {
    const live = new LiveFanout();
    const gone: string[] = [];
    const leave = Array.from({ length: 60 }, () => live.subscribe('r1', (event) => gone.push(event.type)));
    live.publishRecords('r1', records('r1', 1, 1));
    for (const unsubscribe of leave) unsubscribe();
    await sleep(50);
    expect(gone).toEqual([]);
    const seen = subscribe(live, 'r1', 60);
    const leaving = live.subscribe('r1', () => {
      throw new Error('left before the hold ended: must not be called');
    });
    live.publishRecords('r1', records('r1', 2, 1));
    leaving();
    await sleep(fanoutHoldMs(61) + 30);
    expect(seen[0]).toEqual(['records 2']);
  });
});
