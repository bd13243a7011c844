/**
 * The suite every Store implementation passes (SQLite now, PostgreSQL next): call storeCases()
 * from the implementation's test file with a factory for a fresh, empty store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Level, LogRecord } from '../core/record.js';
import type { Store } from './store.js';

export function storeCases(name: string, makeStore: () => Promise<Store>): void {
  describe(`${name} store`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const rec = (seq: number, message = `line ${seq}`, level: Level = 'INFO', timestamp = 1_700_000_000_000_000 + seq): LogRecord => ({
      stream: 'run-1',
      seq,
      timestamp,
      level,
      message,
      source: 'stdout',
      phase: 'run',
    });

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

    it('stores a record once however often it is sent, and returns only what was new', async () => {
      await store.upsertRun({ id: 'run-1' });
      expect((await store.appendRecords('run-1', [rec(1), rec(2)])).map((r) => r.seq)).toEqual([1, 2]);
      expect((await store.appendRecords('run-1', [rec(2), rec(3), rec(1), rec(3)])).map((r) => r.seq)).toEqual([3]);
      const page = await store.queryLogs('run-1', {});
      expect(page.records.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(page.total_lines).toBe(3);
      expect((await store.getRun('run-1'))?.line_count).toBe(3);
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
      expect((await store.queryLogs('run-1', { q: 'cuda OUT' })).records.map((r) => r.seq)).toEqual([3]);
      expect((await store.queryLogs('run-1', { q: '90%' })).records.map((r) => r.seq)).toEqual([2]);
      expect((await store.queryLogs('run-1', { q: '_' })).records).toEqual([]);
    });

    it('keeps streams apart', async () => {
      await store.upsertRun({ id: 'run-1' });
      await store.upsertRun({ id: 'run-2' });
      await store.appendRecords('run-1', [rec(1)]);
      await store.appendRecords('run-2', [{ ...rec(1, 'other'), stream: 'run-2' }]);
      expect((await store.queryLogs('run-2', {})).records.map((r) => r.message)).toEqual(['other']);
    });
  });
}
