/**
 * The suite every Store implementation passes (SQLite now, PostgreSQL next): call storeCases()
 * from the implementation's test file with a factory for a fresh, empty store.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Level, LogRecord } from '../core/record.js';
import { searchCases } from './search.case.js';
import { textCases } from './text.case.js';
import { workerStream, type Store, type WorkerHeartbeat } from './store.js';

/** A line of run-1 (the cases give it another stream with `{ ...rec(1), stream }`). */
export const rec = (seq: number, message = `line ${seq}`, level: Level = 'INFO', timestamp = 1_700_000_000_000_000 + seq): LogRecord => ({
  stream: 'run-1',
  seq,
  timestamp,
  level,
  message,
  source: 'stdout',
  phase: 'run',
});

export function storeCases(name: string, makeStore: () => Promise<Store>): void {
  describe(`${name} store`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    // search across runs and workers, and the one paging order: search.case.ts
    searchCases(() => store);
    // what a sender may put in a text (a lone surrogate): text.case.ts
    textCases(() => store);

    it('creates a run, then updates only the fields given', async () => {
      const first = await store.upsertRun({ id: 'run-1', name: 'train', command: 'python3 t.py', labels: { gpu: 'a100' } });
      expect(first.created).toBe(true);
      expect(first.run).toMatchObject({ id: 'run-1', name: 'train', status: 'running', labels: { gpu: 'a100' }, line_count: 0 });
      const second = await store.upsertRun({ id: 'run-1', log_path: '/tmp/run-1.log' });
      expect(second.created).toBe(false);
      expect(second.run).toMatchObject({ name: 'train', log_path: '/tmp/run-1.log' });
    });

    it('finishes a run with its status, exit code, error and duration', async () => {
      await store.upsertRun({ id: 'run-1', started_at: 1_700_000_000_000_000 });
      const run = await store.finishRun('run-1', { status: 'failed', exit_code: 3, error_message: 'ValueError: x', completed_at: 1_700_000_002_500_000 });
      expect(run).toMatchObject({ status: 'failed', exit_code: 3, error_message: 'ValueError: x', duration_seconds: 2.5 });
      expect(await store.finishRun('nope', { status: 'failed' })).toBeUndefined();
    });

    it('lists runs newest first, filtered by status', async () => {
      await store.upsertRun({ id: 'a' });
      await store.upsertRun({ id: 'b' });
      await store.finishRun('a', { status: 'completed', exit_code: 0 });
      expect((await store.listRuns({})).map((r) => r.id)).toEqual(['b', 'a']);
      expect((await store.listRuns({ status: 'completed' })).map((r) => r.id)).toEqual(['a']);
      expect(await store.listRuns({ limit: 1 })).toHaveLength(1);
    });

    it('finds runs by text in their id, name, command, worker or labels, any case, with the status too', async () => {
      await store.upsertRun({ id: 'train-7', name: 'Train ResNet', command: 'python3 train.py', labels: { team: 'vision' } });
      await store.upsertRun({ id: 'eval-1', name: 'evaluate', command: 'python3 eval.py --split 50%_test', labels: { team: 'nlp' } });
      await store.upsertRun({ id: 'other', command: 'make' });
      const ids = async (filter: Parameters<Store['listRuns']>[0]) => (await store.listRuns(filter)).map((r) => r.id).sort();
      expect(await ids({ q: 'resnet' })).toEqual(['train-7']);
      expect(await ids({ q: 'PYTHON3' })).toEqual(['eval-1', 'train-7']);
      expect(await ids({ q: 'team=nlp' })).toEqual(['eval-1']);
      expect(await ids({ q: 'vision' })).toEqual(['train-7']);
      expect(await ids({ q: '50%_' })).toEqual(['eval-1']); // LIKE's wildcards are text here
      expect(await ids({ q: '5_%' })).toEqual([]);
      await store.finishRun('train-7', { status: 'failed' });
      expect(await ids({ q: 'python3', status: 'failed' })).toEqual(['train-7']);
    });

    it('lists the runs with every label asked for (exact values; a key named like JSON path syntax is a key)', async () => {
      await store.upsertRun({ id: 'l-1', labels: { team: 'vision', gpu: 'a100' } });
      await store.upsertRun({ id: 'l-2', labels: { team: 'vision', gpu: 'h200' } });
      await store.upsertRun({ id: 'l-3', labels: { team: 'visionary', 'a.b': 'x"y' } });
      await store.upsertRun({ id: 'l-4' });
      const ids = async (labels: Record<string, string>) => (await store.listRuns({ labels })).map((r) => r.id).sort();
      expect(await ids({ team: 'vision' })).toEqual(['l-1', 'l-2']);
      expect(await ids({ team: 'vision', gpu: 'h200' })).toEqual(['l-2']);
      expect(await ids({ team: 'visio' })).toEqual([]);
      expect(await ids({ 'a.b': 'x"y' })).toEqual(['l-3']);
      expect(await ids({ gpu: 'a100', nope: 'x' })).toEqual([]);
      expect((await store.listRuns({ labels: { team: 'vision' }, q: 'l-2' })).map((r) => r.id)).toEqual(['l-2']);
    });

    it('stores a record once however often it is sent, and returns only what was new', async () => {
      await store.upsertRun({ id: 'run-1' });
      expect((await store.appendRecords('run-1', [rec(1), rec(2)])).map((r) => r.seq)).toEqual([1, 2]);
      expect((await store.appendRecords('run-1', [rec(2), rec(3), rec(1), rec(3)])).map((r) => r.seq)).toEqual([3]);
      const page = await store.queryLogs('run-1', {});
      expect(page.records.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(page.total_lines).toBe(3);
      expect((await store.getRun('run-1'))?.line_count).toBe(3);
    });

    it('stores big batches whole: 1,234 lines out of order, some known, one sent twice', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.appendRecords('run-1', [rec(5), rec(700)]);
      const batch = Array.from({ length: 1234 }, (_, i) => rec(1234 - i)); // newest first
      batch.splice(300, 0, rec(42)); // 42 twice
      const fresh = await store.appendRecords('run-1', batch);
      expect(fresh).toHaveLength(1232);
      expect(fresh.map((r) => r.seq)).toEqual(Array.from({ length: 1234 }, (_, i) => i + 1).filter((seq) => seq !== 5 && seq !== 700));
      const page = await store.queryLogs('run-1', { after: 0, limit: 2000 });
      expect(page.records.map((r) => r.seq)).toEqual(Array.from({ length: 1234 }, (_, i) => i + 1));
      expect(page.records[99]).toMatchObject({ seq: 100, message: 'line 100' });
      expect((await store.getRun('run-1'))?.line_count).toBe(1234);
    });

    it('keeps every field of a record, attrs and ANSI codes included', async () => {
      await store.upsertRun({ id: 'run-1' });
      const full: LogRecord = { ...rec(1, '\x1b[31mred\x1b[0m', 'ERROR'), logger: 'runlog.x', task_id: 't-1', attrs: { group: 1, truncated: true } };
      await store.appendRecords('run-1', [full]);
      expect((await store.queryLogs('run-1', {})).records[0]).toEqual(full);
    });

    it('answers tail with the last N lines in order and says the rest was left out', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.appendRecords('run-1', Array.from({ length: 20 }, (_, i) => rec(i + 1)));
      const page = await store.queryLogs('run-1', { tail: 5 });
      expect(page.records.map((r) => r.seq)).toEqual([16, 17, 18, 19, 20]);
      expect(page.truncated).toBe(true);
      expect((await store.queryLogs('run-1', { tail: 50 })).truncated).toBe(false);
    });

    it('pages forward with after + limit and backward with before + tail', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.appendRecords('run-1', Array.from({ length: 20 }, (_, i) => rec(i + 1)));
      expect((await store.queryLogs('run-1', { after: 5, limit: 3 })).records.map((r) => r.seq)).toEqual([6, 7, 8]);
      expect((await store.queryLogs('run-1', { before: 5, tail: 2 })).records.map((r) => r.seq)).toEqual([3, 4]);
      expect((await store.readLogs('run-1', 18, 10)).map((r) => r.seq)).toEqual([19, 20]);
    });

    it('reads back a line at the largest seq a sender may use (2^53 − 1), by tail, after and before', async () => {
      const max = Number.MAX_SAFE_INTEGER;
      await store.upsertRun({ id: 'run-1' });
      await store.appendRecords('run-1', [rec(max - 2), rec(max - 1), rec(max)]);
      expect((await store.queryLogs('run-1', { tail: 2 })).records.map((r) => r.seq)).toEqual([max - 1, max]);
      expect((await store.queryLogs('run-1', { after: max - 2, limit: 5 })).records.map((r) => r.seq)).toEqual([max - 1, max]);
      expect((await store.queryLogs('run-1', { before: max, tail: 5 })).records.map((r) => r.seq)).toEqual([max - 2, max - 1]);
      expect(await store.lastSeq('run-1')).toBe(max);
    });

    it('filters by level (this level and above), by time, and by text without ANSI codes', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.appendRecords('run-1', [
        rec(1, 'debug detail', 'DEBUG'),
        rec(2, 'disk 90% full', 'WARNING'),
        rec(3, '\x1b[1mCUDA\x1b[0m out of memory', 'ERROR'),
        rec(4, 'fatal: gone', 'CRITICAL'),
      ]);
      expect((await store.queryLogs('run-1', { level: 'WARNING' })).records.map((r) => r.seq)).toEqual([2, 3, 4]);
      expect((await store.queryLogs('run-1', { since: 1_700_000_000_000_003 })).records.map((r) => r.seq)).toEqual([3, 4]);
      expect((await store.queryLogs('run-1', { until: 1_700_000_000_000_002 })).records.map((r) => r.seq)).toEqual([1, 2]);
      expect((await store.queryLogs('run-1', { since: 1_700_000_000_000_002, until: 1_700_000_000_000_003, tail: 1 })).records.map((r) => r.seq)).toEqual([3]);
      expect((await store.queryLogs('run-1', { q: 'cuda OUT' })).records.map((r) => r.seq)).toEqual([3]);
      expect((await store.queryLogs('run-1', { q: '90%' })).records.map((r) => r.seq)).toEqual([2]);
      expect((await store.queryLogs('run-1', { q: '_' })).records).toEqual([]);
    });

    it('stores a batch that overlaps stored lines once: the holes filled, nothing twice', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.appendRecords('run-1', Array.from({ length: 10 }, (_, i) => rec(i + 1)));
      await store.appendRecords('run-1', [rec(30), rec(40)]);
      expect((await store.appendRecords('run-1', Array.from({ length: 31 }, (_, i) => rec(i + 5)))).map((r) => r.seq)).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 11).filter((seq) => seq !== 30),
      );
      expect(await store.appendRecords('run-1', [rec(40), ...Array.from({ length: 35 }, (_, i) => rec(35 - i))])).toEqual([]);
      const all = await store.queryLogs('run-1', { after: 0, limit: 100 });
      expect(all.records.map((r) => r.seq)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1).concat([40]));
      expect(all.total_lines).toBe(36);
      expect((await store.getRun('run-1'))?.line_count).toBe(36);
    });

    it('keeps every line once whatever batches arrive, resent, overlapping or out of order', async () => {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 80 }), { minLength: 1, maxLength: 12 }), async (batches) => {
          const stream = `prop-${round++}`;
          await store.upsertRun({ id: stream });
          const expected = new Set<number>();
          for (const batch of batches) {
            const fresh = await store.appendRecords(stream, batch.map((seq) => ({ ...rec(seq), stream })));
            const wanted = [...new Set(batch)].filter((seq) => !expected.has(seq)).sort((a, b) => a - b);
            expect(fresh.map((r) => r.seq)).toEqual(wanted);
            for (const seq of batch) expected.add(seq);
          }
          const stored = await store.queryLogs(stream, { after: 0, limit: 1000 });
          expect(stored.records.map((r) => r.seq)).toEqual([...expected].sort((a, b) => a - b));
          expect(stored.records.every((r) => r.message === `line ${r.seq}` && r.stream === stream)).toBe(true);
          expect((await store.getRun(stream))?.line_count).toBe(expected.size);
        }),
        { numRuns: 25 },
      );
    });

    it('answers every query the same across chunk boundaries: 7,000 lines sent in 70 batches', async () => {
      await store.upsertRun({ id: 'run-1' });
      const level = (seq: number): Level => (seq % 97 === 0 ? 'ERROR' : seq % 31 === 0 ? 'WARNING' : 'INFO');
      const message = (seq: number) => (seq === 4321 ? 'Traceback: needle in a haystack' : `step ${seq} loss=${(1 / seq).toFixed(6)}`);
      for (let batch = 0; batch < 70; batch++) {
        await store.appendRecords('run-1', Array.from({ length: 100 }, (_, i) => rec(batch * 100 + i + 1, message(batch * 100 + i + 1), level(batch * 100 + i + 1))));
      }
      const seqs = (page: { records: LogRecord[] }) => page.records.map((r) => r.seq);
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
      expect(seqs(await store.queryLogs('run-1', { tail: 250 }))).toEqual(range(6751, 7000));
      expect(seqs(await store.queryLogs('run-1', { after: 4090, limit: 20 }))).toEqual(range(4091, 4110));
      expect(seqs(await store.queryLogs('run-1', { before: 4100, tail: 5 }))).toEqual(range(4095, 4099));
      expect(seqs(await store.queryLogs('run-1', { after: 4000, before: 4200, limit: 1000 }))).toEqual(range(4001, 4199));
      expect(seqs(await store.queryLogs('run-1', { since: 1_700_000_000_000_000 + 6990 }))).toEqual(range(6990, 7000));
      // a window of time across chunk boundaries, from either end
      expect(seqs(await store.queryLogs('run-1', { since: 1_700_000_000_000_000 + 1990, until: 1_700_000_000_000_000 + 2110, tail: 10_000 }))).toEqual(range(1990, 2110));
      expect(seqs(await store.queryLogs('run-1', { until: 1_700_000_000_000_000 + 2110, limit: 3, after: 2100 }))).toEqual(range(2101, 2103));
      expect(seqs(await store.queryLogs('run-1', { until: 1_700_000_000_000_000 + 2110, tail: 2 }))).toEqual(range(2109, 2110));
      const errors = range(1, 7000).filter((seq) => seq % 97 === 0);
      expect(seqs(await store.queryLogs('run-1', { level: 'ERROR', tail: 10_000 }))).toEqual(errors);
      expect(seqs(await store.queryLogs('run-1', { level: 'WARNING', after: 4000, limit: 3 }))).toEqual([4030, 4061, 4074]);
      expect((await store.queryLogs('run-1', { q: 'NEEDLE in' })).records).toMatchObject([{ seq: 4321, message: 'Traceback: needle in a haystack' }]);
      expect((await store.queryLogs('run-1', { q: 'no such text anywhere' })).records).toEqual([]);
      const read: number[] = [];
      for (let page = await store.readLogs('run-1', 0, 999); page.length > 0; page = await store.readLogs('run-1', page[page.length - 1]?.seq ?? 0, 999)) {
        read.push(...page.map((r) => r.seq));
      }
      expect(read).toEqual(range(1, 7000));
      expect((await store.queryLogs('run-1', { tail: 1 })).total_lines).toBe(7000);
    });

    it('keeps streams apart', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.upsertRun({ id: 'run-2' });
      await store.appendRecords('run-1', [rec(1)]);
      await store.appendRecords('run-2', [{ ...rec(1, 'other'), stream: 'run-2' }]);
      expect((await store.queryLogs('run-2', {})).records.map((r) => r.message)).toEqual(['other']);
    });
    const heartbeat = (id: string, received_at: number, extra: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat => ({
      id,
      state: 'idle',
      current_task_id: null,
      vram_total_mb: 24_000,
      vram_used_mb: 1_000,
      gpus: [{ index: 0 }],
      heartbeat_interval_s: 20,
      dropped_logs: 0,
      stats: null,
      received_at,
      ...extra,
    });

    it('gives each queued task to exactly one claimer, oldest first, and numbers a task run again after its stored lines', async () => {
      const spec = { command: ['echo', 'hi'], setup: [], env: { A: '1' }, cwd: null };
      await store.createTask({ id: 't1' }, spec);
      await store.createTask({ id: 't2' }, spec);
      const claims = await Promise.all([store.claimTask('w1'), store.claimTask('w2'), store.claimTask('w3')]);
      const claimed = claims.filter((c) => c !== undefined);
      expect(claimed.map((c) => c.run.id).sort()).toEqual(['t1', 't2']);
      expect(claimed[0]?.spec).toEqual(spec);
      expect(claimed[0]?.run.status).toBe('running');
      await store.appendRecords('t1', [{ ...rec(1), stream: 't1' }, { ...rec(2), stream: 't1' }]);
      expect((await store.releaseTask('t1'))?.status).toBe('queued');
      const again = await store.claimTask('w9');
      expect(again).toMatchObject({ run: { id: 't1', worker_id: 'w9' }, last_seq: 2 });
      expect((await store.runningOn('w9')).map((r) => r.id)).toEqual(['t1']);
    });

    it('passes over the tasks a claim names to skip, and takes the next queued one', async () => {
      const spec = { command: ['true'], setup: [], env: {}, cwd: null };
      await store.createTask({ id: 'skip-1' }, spec);
      await store.createTask({ id: 'skip-2' }, spec);
      expect((await store.claimTask('w1', undefined, ['skip-1']))?.run.id).toBe('skip-2');
      expect(await store.claimTask('w1', undefined, ['skip-1'])).toBeUndefined();
      expect((await store.claimTask('w1', undefined, []))?.run.id).toBe('skip-1');
    });

    it("adds up a worker's dropped lines, held at 2^53 - 1 so that the count reads back exactly", async () => {
      const t0 = 1_700_000_000_000_000;
      await store.recordHeartbeat(heartbeat('w-drops', t0, { dropped_logs: 5 }));
      await store.recordHeartbeat(heartbeat('w-drops', t0 + 1, { dropped_logs: 7 }));
      expect((await store.getWorker('w-drops', t0 + 2))?.dropped_logs).toBe(12);
      await store.recordHeartbeat(heartbeat('w-drops', t0 + 3, { dropped_logs: Number.MAX_SAFE_INTEGER }));
      await store.recordHeartbeat(heartbeat('w-drops', t0 + 4, { dropped_logs: Number.MAX_SAFE_INTEGER }));
      expect((await store.getWorker('w-drops', t0 + 5))?.dropped_logs).toBe(Number.MAX_SAFE_INTEGER);
    });

    it("forgets a worker's current task only while it still names that task, keeping what the worker said of itself", async () => {
      const t0 = 1_700_000_000_000_000;
      await store.recordHeartbeat(heartbeat('w-lost', t0, { state: 'busy', current_task_id: 't-kill' }));
      await store.clearCurrentTask('w-lost', ['other']);
      expect((await store.getWorker('w-lost', t0))?.current_task_id).toBe('t-kill');
      await store.clearCurrentTask('w-lost', ['r-1', 't-kill']);
      expect(await store.getWorker('w-lost', t0)).toMatchObject({ current_task_id: null, state: 'busy' });
    });

    it('records heartbeats and derives a worker status from their age', async () => {
      const t0 = 1_700_000_000_000_000;
      await store.recordHeartbeat(heartbeat('w1', t0));
      await store.recordHeartbeat(heartbeat('w1', t0 + 1_000_000, { state: 'busy', current_task_id: 't1', vram_used_mb: null }));
      const worker = await store.getWorker('w1', t0 + 2_000_000);
      expect(worker).toMatchObject({ id: 'w1', status: 'active', state: 'busy', current_task_id: 't1', vram_total_mb: 24_000, vram_used_mb: 1_000 });
      expect((await store.getWorker('w1', t0 + 60_000_000))?.status).toBe('stale');
      expect((await store.getWorker('w1', t0 + 200_000_000))?.status).toBe('offline');
      await store.recordHeartbeat(heartbeat('w1', t0 + 3_000_000, { state: 'offline' }));
      expect((await store.getWorker('w1', t0 + 3_000_000))?.status).toBe('offline');
      expect((await store.listWorkers(t0)).map((w) => w.id)).toEqual(['w1']);
    });

    it('answers worker lines as system_logs, filtered, newest first, and deletes them by age', async () => {
      const stream = workerStream('w1');
      await store.appendRecords(stream, [
        { ...rec(1, 'starting'), stream, timestamp: 1000 },
        { ...rec(2, 'claimed task t1', 'INFO'), stream, timestamp: 2000, task_id: 't1' },
        { ...rec(3, 'disk slow', 'WARNING'), stream, timestamp: 3000, task_id: 't1', logger: 'runlog.worker' },
      ]);
      await store.appendRecords(workerStream('w2'), [{ ...rec(1, 'other worker'), stream: workerStream('w2'), timestamp: 1500 }]);
      const all = await store.querySystemLogs({});
      expect(all.map((l) => l.message)).toEqual(['disk slow', 'claimed task t1', 'other worker', 'starting']);
      expect(all[0]).toMatchObject({ source_type: 'worker', source_id: 'w1', task_id: 't1', level: 'WARNING', metadata: { logger: 'runlog.worker' } });
      expect((await store.querySystemLogs({ task_id: 't1', level: 'WARNING' })).map((l) => l.seq)).toEqual([3]);
      expect((await store.querySystemLogs({ source_id: 'w2' })).map((l) => l.message)).toEqual(['other worker']);
      expect((await store.querySystemLogs({ since: 1500, until: 2000 })).map((l) => l.message)).toEqual(['claimed task t1', 'other worker']);
      expect(await store.querySystemLogs({ source_type: 'orchestrator' })).toEqual([]);
      expect(await store.deleteLinesBefore('worker:', 2500)).toBe(3);
      expect((await store.querySystemLogs({})).map((l) => l.message)).toEqual(['disk slow']);
    });

    it('takes a NUL anywhere a job or a worker can put one (PostgreSQL text cannot hold it: U+FFFD there)', async () => {
      const nul = (text: string) => [text, text.replaceAll('\u0000', '\uFFFD')]; // as stored by SQLite, by PostgreSQL
      await store.upsertRun({ id: 'run-1', name: 'n\u0000ame', command: 'c\u0000md', labels: { 'k\u0000': 'v\u0000' } });
      expect(nul('n\u0000ame')).toContain((await store.getRun('run-1'))?.name);
      await store.appendRecords('run-1', [{ ...rec(1, 'a\u0000b'), task_id: 't\u0000', attrs: { note: 'x\u0000' } }]);
      const [line] = (await store.queryLogs('run-1', { tail: 10 })).records;
      expect(nul('a\u0000b')).toContain(line?.message);
      const stream = workerStream('w-nul');
      await store.appendRecords(stream, [{ ...rec(1, 'worker \u0000 line'), stream, timestamp: 1000, task_id: 't\u0000', attrs: { metadata: { m: 'x\u0000' } } }]);
      const [workerLine] = await store.querySystemLogs({ source_id: 'w-nul' });
      expect(nul('worker \u0000 line')).toContain(workerLine?.message);
      await store.finishRun('run-1', { status: 'failed', error_message: 'e\u0000rr', completed_at: 1_700_000_000_000_000 });
      expect(nul('e\u0000rr')).toContain((await store.getRun('run-1'))?.error_message);
      expect((await store.queryLogs('run-1', { q: '\u0000' })).records.length).toBeLessThanOrEqual(1);
      expect(Array.isArray((await store.searchLines({ q: '\u0000' })).records)).toBe(true);
    });

    it('deletes worker lines by age inside a batch too, keeping the newer lines of the same batch', async () => {
      const stream = workerStream('w1');
      await store.appendRecords(stream, Array.from({ length: 50 }, (_, i) => ({ ...rec(i + 1), stream, timestamp: (i + 1) * 1000 })));
      expect(await store.deleteLinesBefore('worker:', 20_500)).toBe(20);
      const left = await store.querySystemLogs({ limit: 100 });
      expect(left.map((l) => l.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 50 - i));
      await store.appendRecords(stream, [{ ...rec(51), stream, timestamp: 51_000 }]);
      expect((await store.getWorker('w1', 0))?.last_seq ?? 51).toBe(51);
    });

    it("keeps a worker stream's highest seq when retention deleted all its lines (its seq never goes back)", async () => {
      const stream = workerStream('w-gone');
      await store.appendRecords(stream, [1, 2, 3].map((seq) => ({ ...rec(seq), stream, timestamp: seq * 1000 })));
      expect(await store.deleteLinesBefore('worker:', 10_000)).toBe(3);
      expect(await store.querySystemLogs({ source_id: 'w-gone' })).toEqual([]);
      expect(await store.lastSeq(stream)).toBe(3);
      await store.recordHeartbeat(heartbeat('w-gone', 20_000));
      expect((await store.getWorker('w-gone', 20_000))?.last_seq).toBe(3);
      // lines stored after it are the highest again
      await store.appendRecords(stream, [{ ...rec(4), stream, timestamp: 30_000 }]);
      expect(await store.lastSeq(stream)).toBe(4);
    });

    it('deletes ended runs older than a cutoff with their lines, and keeps the rest', async () => {
      await store.upsertRun({ id: 'old' });
      await store.upsertRun({ id: 'new' });
      await store.upsertRun({ id: 'live' });
      await store.appendRecords('old', [{ ...rec(1), stream: 'old' }]);
      await store.finishRun('old', { status: 'completed', completed_at: 1000 });
      await store.finishRun('new', { status: 'completed', completed_at: 9000 });
      expect(await store.deleteRunsBefore(5000)).toBe(1);
      expect(await store.getRun('old')).toBeUndefined();
      expect((await store.readLogs('old', 0, 10)).length).toBe(0);
      expect((await store.listRuns({})).map((r) => r.id).sort()).toEqual(['live', 'new']);
    });

    it('counts runs by status, every status present (for /metrics)', async () => {
      if (!store.countRuns) return; // optional: /metrics counts from listRuns without it
      expect(await store.countRuns()).toEqual({ queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
      await store.upsertRun({ id: 'a' });
      await store.upsertRun({ id: 'b' });
      await store.finishRun('b', { status: 'failed' });
      await store.createTask({ id: 'c' }, { command: ['true'], setup: [], env: {}, cwd: null });
      expect(await store.countRuns()).toEqual({ queued: 1, running: 1, completed: 0, failed: 1, cancelled: 0 });
    });

    it('keeps the first end of a run', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.finishRun('run-1', { status: 'failed', error_message: 'worker went offline' });
      const again = await store.finishRun('run-1', { status: 'completed', exit_code: 0 });
      expect(again).toMatchObject({ status: 'failed', error_message: 'worker went offline' });
    });

    it('keeps diagnostics with the run', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.setDiagnostics('run-1', { probes: [{ name: 'gpu', ok: false, note: 'nvidia-smi not found' }] });
      expect((await store.getRun('run-1'))?.diagnostics).toEqual({ probes: [{ name: 'gpu', ok: false, note: 'nvidia-smi not found' }] });
    });

    it('renews a lease and finds the runs whose writer has been silent for three leases', async () => {
      const t0 = 1_700_000_000_000_000;
      await store.upsertRun({ id: 'leased', lease_s: 2 });
      await store.upsertRun({ id: 'legacy' }); // no lease: a run from before leases is never expired
      await store.renewLease('leased', t0);
      expect(await store.getRun('leased')).toMatchObject({ lease_s: 2, lost: false, last_heard_at: '2023-11-14T22:13:20.000000Z' });
      expect(await store.expiredLeases(t0 + 5_000_000, 0)).toEqual([]);
      expect((await store.expiredLeases(t0 + 7_000_000, 0)).map((r) => r.id)).toEqual(['leased']);
      // silence is counted from `heardSince` at the earliest (a hub that was down heard nobody)
      expect(await store.expiredLeases(t0 + 7_000_000, t0 + 6_000_000)).toEqual([]);
    });

    it('lets the real end of a run marked lost replace the verdict, once', async () => {
      await store.upsertRun({ id: 'run-1', lease_s: 1 });
      const lost = await store.finishRun('run-1', { status: 'failed', error_message: 'runner lost', lost: true });
      expect(lost).toMatchObject({ status: 'failed', lost: true });
      expect(await store.finishRun('run-1', { status: 'completed', exit_code: 0 })).toMatchObject({ status: 'failed' });
      const real = await store.finishRun('run-1', { status: 'completed', exit_code: 0, replaceLost: true });
      expect(real).toMatchObject({ status: 'completed', exit_code: 0, lost: false, error_message: null });
      expect(await store.finishRun('run-1', { status: 'failed', replaceLost: true })).toMatchObject({ status: 'completed' });
    });

    it('cancels a queued task at once, and records a cancel request on a running run', async () => {
      const spec = { command: ['true'], setup: [], env: {}, cwd: null };
      await store.createTask({ id: 'queued' }, spec);
      expect(await store.requestCancel('queued', 'alice', 1_700_000_000_000_000)).toMatchObject({
        status: 'cancelled',
        error_message: 'cancelled by alice',
        cancel_requested_by: 'alice',
      });
      expect(await store.claimTask('w1')).toBeUndefined(); // it never runs
      await store.createTask({ id: 'task' }, spec);
      expect((await store.claimTask('w1', 5))?.run).toMatchObject({ id: 'task', status: 'running', lease_s: 5 });
      expect(await store.requestCancel('task', 'bob', 1_700_000_000_000_000)).toMatchObject({ status: 'running', cancel_requested_by: 'bob' });
      // a task asked to cancel is not handed back
      expect(await store.releaseTask('task')).toMatchObject({ status: 'running' });
    });

    it('deletes an ended run with its lines, never a queued or running one', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.appendRecords('run-1', [rec(1), rec(2)]);
      expect(await store.deleteRun('run-1')).toBe('active');
      await store.finishRun('run-1', { status: 'completed', exit_code: 0 });
      expect(await store.deleteRun('run-1')).toBe('deleted');
      expect(await store.getRun('run-1')).toBeUndefined();
      expect(await store.readLogs('run-1', 0, 10)).toEqual([]);
      expect(await store.deleteRun('run-1')).toBe('missing');
    });

    it("keeps a task's spec and links a re-run to the run it re-runs", async () => {
      const spec = { command: ['echo', 'hi'], setup: [], env: { A: '1' }, cwd: '/tmp' };
      await store.createTask({ id: 'first' }, spec);
      expect(await store.getSpec('first')).toEqual(spec);
      await store.upsertRun({ id: 'plain' });
      expect(await store.getSpec('plain')).toBeUndefined();
      await store.createTask({ id: 'second', rerun_of: 'first' }, spec);
      expect(await store.getRun('second')).toMatchObject({ rerun_of: 'first' });
      expect(await store.rerunsOf('first')).toEqual(['second']);
    });
  });
}
