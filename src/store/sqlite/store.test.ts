import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { storeCases } from '../store.case.js';
import { TARGET_LINES } from './lines.js';
import { SqliteStore } from './store.js';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'runlog-sqlite-')), 'runlog.db');

// a real file in a fresh directory each time: WAL and all
storeCases('SQLite', async () => new SqliteStore(tempFile()));

describe('SQLite line chunks', () => {
  const rec = (seq: number): LogRecord => ({ stream: 'r', seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', message: `step ${seq} loss=0.${seq}` });

  it('compacts a stream sent a few lines at a time into few chunks, every line kept once', async () => {
    const file = tempFile();
    const store = new SqliteStore(file);
    await store.upsertRun({ id: 'r' });
    let seq = 0;
    for (let batch = 0; batch < 1500; batch++) {
      const size = 1 + (batch % 7);
      const lines = Array.from({ length: size }, () => rec(++seq));
      await store.appendRecords('r', batch % 5 === 0 ? [...lines, rec(Math.max(1, seq - 20))] : lines); // some resent
    }
    const db = new Database(file, { readonly: true });
    const chunks = db.prepare('SELECT count, first_seq, last_seq FROM chunks WHERE stream = ? ORDER BY first_seq').all('r') as { count: number; first_seq: number; last_seq: number }[];
    db.close();
    expect(chunks.reduce((sum, c) => sum + c.count, 0)).toBe(seq);
    expect(chunks.length).toBeLessThan(seq / 200);
    for (let i = 1; i < chunks.length; i++) expect((chunks[i]?.first_seq ?? 0) > (chunks[i - 1]?.last_seq ?? 0)).toBe(true);
    expect((await store.readLogs('r', 0, 10_000)).map((r) => r.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect((await store.getRun('r'))?.line_count).toBe(seq);
    await store.close();
  });

  it('answers a level query from the copy of a chunk\'s few errors, through compaction too, as from the whole chunk', async () => {
    const file = tempFile();
    const store = new SqliteStore(file);
    await store.upsertRun({ id: 'r' });
    const line = (seq: number): LogRecord => ({ ...rec(seq), level: seq % 1000 === 500 ? 'ERROR' : seq % 300 === 0 ? 'WARNING' : 'INFO', message: `m ${seq}` });
    for (let first = 1; first <= 20_000; first += 500) await store.appendRecords('r', Array.from({ length: 500 }, (_, i) => line(first + i)));
    const db = new Database(file, { readonly: true });
    const withAlerts = db.prepare('SELECT COUNT(*) FROM chunks WHERE alerts IS NOT NULL').pluck().get() as number;
    db.close();
    expect(withAlerts).toBeGreaterThan(0);
    const errors = (await store.queryLogs('r', { level: 'ERROR', tail: 10_000 })).records;
    expect(errors.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i * 1000 + 500));
    expect(errors[0]).toEqual({ ...line(500), stream: 'r' });
    const warnings = (await store.queryLogs('r', { level: 'WARNING', after: 1000, limit: 5 })).records.map((r) => r.seq);
    expect(warnings).toEqual([1200, 1500, 1800, 2100, 2400]);
    expect((await store.searchLines({ level: 'ERROR', limit: 3 })).records.map((r) => r.seq)).toEqual([19_500, 18_500, 17_500]);
    await store.close();
  });

  it('cuts a huge batch into chunks of the target size', async () => {
    const file = tempFile();
    const store = new SqliteStore(file);
    await store.upsertRun({ id: 'r' });
    await store.appendRecords('r', Array.from({ length: 3 * TARGET_LINES + 5 }, (_, i) => rec(i + 1)));
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count FROM chunks ORDER BY first_seq').pluck().all()).toEqual([TARGET_LINES, TARGET_LINES, TARGET_LINES, 5]);
    db.close();
    expect((await store.queryLogs('r', { tail: 3 })).records.map((r) => r.seq)).toEqual([3 * TARGET_LINES + 3, 3 * TARGET_LINES + 4, 3 * TARGET_LINES + 5]);
    await store.close();
  });
});
