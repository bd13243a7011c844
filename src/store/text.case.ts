/**
 * Text a store must take whatever a sender put in it, on every backend: here, half of a UTF-16
 * surrogate pair alone (JSON's "\ud800"; Python's surrogateescape of bytes that are not UTF-8, in a
 * path a worker logs). SQLite keeps it; PostgreSQL's jsonb refused its escape, so a worker line's
 * metadata with one was a 500 (the heartbeat retried forever), and a run's label with one made
 * every label query of every run a 500. Registered inside storeCases' describe.
 */
import { expect, it } from 'vitest';
import { workerStream, type Store } from './store.js';

const LONE = ['\ud800', '\udc00'] as const;

/** `text` as one of the backends gives it back: kept (SQLite), or each lone half as U+FFFD */
const keptOrReplaced = (text: string): string[] => [text, text.replace(/\p{Cs}/gu, '\uFFFD')];

export function textCases(current: () => Store): void {
  it('takes a lone surrogate in a worker line, its metadata, a heartbeat and a label, and still answers label queries', async () => {
    const store = current();
    const [high, low] = LONE;
    await store.upsertRun({ id: 'run-s', name: `n${high}`, command: 'c', labels: { team: 'vision', [`k${low}`]: `v${high}` } });
    await store.upsertRun({ id: 'run-t', command: 'c', labels: { team: 'vision' } });
    await store.appendRecords('run-s', [{ stream: 'run-s', seq: 1, timestamp: 1_000, level: 'INFO', message: 'needle in run-s' }]);

    const stream = workerStream('w-sur');
    await store.appendRecords(stream, [
      { stream, seq: 1, timestamp: 2_000, level: 'INFO', message: `path ${low}x`, attrs: { metadata: { [`k${high}`]: `v${low}`, pair: '\ud83d\ude00' } } },
    ]);
    await store.recordHeartbeat({
      id: 'w-sur',
      state: 'idle',
      current_task_id: null,
      vram_total_mb: null,
      vram_used_mb: null,
      gpus: [{ name: `gpu${high}` }],
      heartbeat_interval_s: 20,
      dropped_logs: 0,
      stats: { note: `s${low}` },
      received_at: 3_000,
    });

    const [line] = await store.querySystemLogs({ source_id: 'w-sur' });
    expect(keptOrReplaced(`path ${low}x`)).toContain(line?.message);
    expect(keptOrReplaced(`v${low}`)).toContain(Object.values(line?.metadata ?? {}).find((v) => typeof v === 'string' && v.startsWith('v')));
    expect(line?.metadata.pair).toBe('\ud83d\ude00'); // a whole pair is no lone half: kept as it is
    const worker = await store.getWorker('w-sur', 3_000);
    expect(keptOrReplaced(`s${low}`)).toContain(worker?.stats?.note);

    // one run's odd label does not break the label queries of the others
    expect((await store.listRuns({ labels: { team: 'vision' } })).map((r) => r.id).sort()).toEqual(['run-s', 'run-t']);
    const found = await store.searchLines({ q: 'needle', labels: { team: 'vision' } });
    expect(found.records.map((r) => r.stream)).toEqual(['run-s']);
  });
}
