/**
 * The part of the Store suite (store.case.ts) on search across runs and workers: what matches,
 * and how search and the worker lines page, in one order, each line once.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Level, LogRecord } from '../core/record.js';
import { newestFirst } from './search-order.js';
import { rec } from './store.case.js';
import { workerStream, type Store } from './store.js';

/** Registers the search cases inside storeCases' describe: `current()` is that case's fresh store. */
export function searchCases(current: () => Store): void {
  it('searches lines across runs and workers, newest first, by text, level, time and label', async () => {
    const store = current();
    await store.upsertRun({ id: 'train', labels: { team: 'vision' } });
    await store.upsertRun({ id: 'eval', labels: { team: 'nlp' } });
    const at = (stream: string, seq: number, message: string, timestamp: number, level: Level = 'INFO'): LogRecord => ({ ...rec(seq, message, level, timestamp), stream });
    await store.appendRecords('train', [at('train', 1, 'loading data', 100), at('train', 2, 'CUDA out of memory', 400, 'ERROR'), at('train', 3, 'retrying', 500)]);
    await store.appendRecords('eval', [at('eval', 1, 'cuda device 0', 200), at('eval', 2, '\x1b[31mCuda\x1b[0m error: device lost', 300, 'ERROR')]);
    await store.appendRecords(workerStream('w1'), [at(workerStream('w1'), 1, 'cuda driver 535', 250, 'WARNING')]);
    const found = await store.searchLines({ q: 'cuda' });
    expect(found.records.map((r) => `${r.stream}/${r.seq}`)).toEqual(['train/2', 'eval/2', 'worker:w1/1', 'eval/1']);
    expect(found.truncated).toBe(false);
    expect((await store.searchLines({ q: 'CUDA', level: 'WARNING' })).records.map((r) => `${r.stream}/${r.seq}`)).toEqual(['train/2', 'eval/2', 'worker:w1/1']);
    expect((await store.searchLines({ q: 'cuda', since: 200, until: 300 })).records.map((r) => r.seq)).toEqual([2, 1, 1]);
    expect((await store.searchLines({ q: 'cuda', labels: { team: 'nlp' } })).records.map((r) => `${r.stream}/${r.seq}`)).toEqual(['eval/2', 'eval/1']);
    const limited = await store.searchLines({ q: 'cuda', limit: 2 });
    expect(limited.records.map((r) => `${r.stream}/${r.seq}`)).toEqual(['train/2', 'eval/2']);
    expect(limited.truncated).toBe(true);
    expect((await store.searchLines({ q: 'no such line' })).records).toEqual([]);
    expect((await store.searchLines({ level: 'ERROR' })).records.map((r) => r.message)).toEqual(['CUDA out of memory', '\x1b[31mCuda\x1b[0m error: device lost']);
  });

  it('pages search and the worker lines alike, each line once, in one order, however many lines share a µs', async () => {
    const store = current();
    let round = 0;
    const streamsOf = fc.array(fc.record({ worker: fc.boolean(), times: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 25 }) }), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(streamsOf, fc.integer({ min: 1, max: 12 }), async (streams, limit) => {
        const needle = `pgz${round++}q`;
        const all: LogRecord[] = [];
        for (const [index, { worker, times }] of streams.entries()) {
          // ids whose order by stream differs from their order of creation
          const id = `${needle}-${String.fromCharCode(122 - index)}${index % 2 === 0 ? 'B' : 'a'}`;
          const stream = worker ? workerStream(id) : id;
          if (!worker) await store.upsertRun({ id });
          const records = [...times].sort().map((t, i) => ({ ...rec(i + 1, `line ${i + 1} ${needle}`, 'INFO', 1_700_000_000_000_000 + t), stream }));
          if (records.length > 0) await store.appendRecords(stream, records);
          all.push(...records);
        }
        const expected = all.sort(newestFirst).map((r) => `${r.stream}/${r.seq}`);
        const searched: string[] = [];
        let cursor: LogRecord | undefined;
        for (let page = 0; page < 200; page++) {
          const found = await store.searchLines({ q: needle, limit, ...(cursor && { until: cursor.timestamp, before: { stream: cursor.stream, seq: cursor.seq } }) });
          searched.push(...found.records.map((r) => `${r.stream}/${r.seq}`));
          cursor = found.records.at(-1);
          if (!found.truncated) break;
        }
        expect(searched).toEqual(expected);
        const listed: string[] = [];
        let before: { source_id: string; seq: number } | undefined;
        for (let page = 0; page < 200; page++) {
          const rows = await store.querySystemLogs({ q: needle, limit, ...(before && { before }) });
          listed.push(...rows.map((row) => `worker:${row.source_id}/${row.seq}`));
          const last = rows.at(-1);
          if (last === undefined || rows.length < limit) break;
          before = { source_id: last.source_id, seq: last.seq };
        }
        expect(listed).toEqual(expected.filter((id) => id.startsWith('worker:')));
      }),
      { numRuns: 20 },
    );
  });

  it("finds a worker's coloured lines by their plain text, as a run's are: its logs, the worker lines, search", async () => {
    const store = current();
    const stream = workerStream('w-ansi');
    await store.appendRecords(stream, [
      { ...rec(1, '\x1b[31merror\x1b[0m: disk full', 'ERROR'), stream },
      { ...rec(2, 'see \x1b]8;;http://x\x07the docs\x1b]8;;\x07 now'), stream },
      { ...rec(3, 'plain error: disk full'), stream },
      // `tput sgr0` prints ESC ( B before ESC [ m
      { ...rec(4, 'fa\x1b(B\x1b[mtal quota delta'), stream },
    ]);
    expect((await store.queryLogs(stream, { q: 'fatal quota' })).records.map((r) => r.seq)).toEqual([4]);
    expect((await store.queryLogs(stream, { q: 'error: disk' })).records.map((r) => r.seq)).toEqual([1, 3]);
    expect((await store.queryLogs(stream, { q: 'the docs now' })).records.map((r) => r.seq)).toEqual([2]);
    expect((await store.querySystemLogs({ q: 'error: disk', limit: 10 })).map((l) => l.seq).sort()).toEqual([1, 3]);
    expect((await store.searchLines({ q: 'error: disk' })).records.map((r) => r.seq).sort()).toEqual([1, 3]);
    // the codes are kept in what is returned
    expect((await store.queryLogs(stream, { q: 'the docs' })).records[0]?.message).toContain('\x1b]8;;');
  });

  it('folds ASCII letters only in q, as the docs say: q=is finds Is and is, not İs (U+0130); q=k no K (U+212A); É is not é', async () => {
    const store = current();
    const stream = workerStream('w-fold');
    await store.upsertRun({ id: 'fold' });
    const lines = ['\u0130stanbul', 'Istanbul', 'istanbul', '\u0131zmir', '\u212Aelvin', 'kelvin', 'STRASSE', 'Stra\u00DFe', '\u00C9t\u00E9', '\u00E9t\u00E9'];
    const records = lines.map((line, i) => rec(i + 1, line));
    await store.appendRecords('fold', records.map((r) => ({ ...r, stream: 'fold' })));
    await store.appendRecords(stream, records.map((r) => ({ ...r, stream })));
    const run = async (q: string) => (await store.queryLogs('fold', { q })).records.map((r) => r.message);
    const worker = async (q: string) => (await store.queryLogs(stream, { q })).records.map((r) => r.message);
    const system = async (q: string) => (await store.querySystemLogs({ q, limit: 100 })).map((l) => l.message).sort();
    const search = async (q: string) => (await store.searchLines({ q })).records.filter((r) => r.stream === 'fold').map((r) => r.message).sort();
    const searchWorker = async (q: string) => (await store.searchLines({ q })).records.filter((r) => r.stream === stream).map((r) => r.message).sort();
    for (const [q, expected] of [
      ['istanbul', ['Istanbul', 'istanbul']],
      ['ISTANBUL', ['Istanbul', 'istanbul']],
      ['is', ['Istanbul', 'istanbul']],
      ['IS', ['Istanbul', 'istanbul']],
      ['\u0130s', ['\u0130stanbul']],
      ['kelvin', ['kelvin']],
      ['\u212Aelvin', ['\u212Aelvin']],
      ['strasse', ['STRASSE']],
      ['\u00E9t\u00E9', ['\u00E9t\u00E9']],
      ['\u00C9T', ['\u00C9t\u00E9']],
    ] as const) {
      const want = [...expected].sort();
      expect({ q, run: (await run(q)).sort() }).toEqual({ q, run: want });
      expect({ q, worker: (await worker(q)).sort() }).toEqual({ q, worker: want });
      expect({ q, system: await system(q) }).toEqual({ q, system: want });
      expect({ q, search: await search(q) }).toEqual({ q, search: want });
      expect({ q, searchWorker: await searchWorker(q) }).toEqual({ q, searchWorker: want });
    }
    // the runs list's q too (SQLite: LIKE)
    await store.upsertRun({ id: 'fold-dotted', name: '\u0130STANBUL' });
    await store.upsertRun({ id: 'fold-plain', name: 'ISTANBUL' });
    expect((await store.listRuns({ q: 'istanbul' })).map((r) => r.id)).toEqual(['fold-plain']);
  });
}
