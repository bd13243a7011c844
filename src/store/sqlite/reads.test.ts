/**
 * Reads that let the event loop run (reads.ts): the hub goes on serving while a long search runs,
 * and what writers do meanwhile (compaction, a resent batch) neither loses nor repeats a line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { SqliteLines } from './lines.js';
import { queryStream } from './reads.js';
import { SqliteStore } from './store.js';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'runlog-reads-')), 'runlog.db');
const rec = (stream: string, seq: number, message = `step ${seq} loss=0.${seq}`): LogRecord => ({ stream, seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', message });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SQLite reads and writers between them', () => {
  it("reads a chunk's lines from where they are now when compaction merged it after its metadata was read", async () => {
    const store = new SqliteStore(tempFile());
    const lines = new SqliteLines((store as unknown as { db: ConstructorParameters<typeof SqliteLines>[0] }).db);
    await store.upsertRun({ id: 'r' });
    // small batches stay small chunks until there are enough of them to merge
    for (let batch = 0; batch < 4; batch++) await store.appendRecords('r', range(batch * 3 + 1, batch * 3 + 3).map((seq) => rec('r', seq)));
    const before = lines.chunksAfter('r', 0, 2 ** 53, 100, false);
    expect(before.length).toBeGreaterThan(1);
    // a resent batch across every chunk: they are stored again as one, under new rowids
    await store.appendRecords('r', [rec('r', 2), rec('r', 13), rec('r', 14)]);
    const key = (row: { id: number; first_seq: number; last_seq: number }) => `${row.id}:${row.first_seq}-${row.last_seq}`;
    expect(lines.chunksAfter('r', 0, 2 ** 53, 100, false).map(key)).not.toContain(key(before[0]!));
    // each old row still gives its own lines, and only those
    expect(before.map((row) => lines.decode(row).map((r) => r.seq))).toEqual(before.map((row) => range(row.first_seq, row.last_seq)));
    await store.close();
  });

  it('gives no line twice when the stream compacts across where a tail read had got to', async () => {
    const store = new SqliteStore(tempFile());
    const lines = (store as unknown as { lines: SqliteLines }).lines;
    await store.upsertRun({ id: 't' });
    // 15 small chunks: the 16th makes them one
    for (let batch = 0; batch < 15; batch++) await store.appendRecords('t', range(batch * 3 + 1, batch * 3 + 3).map((seq) => rec('t', seq)));
    const chunks = () => lines.chunksAfter('t', 0, 2 ** 53, 100, false).length;
    expect(chunks()).toBe(15);
    // the writer's batch arrives while the read lets the event loop run, after its first page of chunks
    const pauses = { pause: async () => void (await store.appendRecords('t', [rec('t', 46)])) };
    const page = await queryStream(lines, 't', { tail: 100 }, pauses);
    expect(chunks()).toBe(1);
    expect(page.records.map((r) => r.seq)).toEqual(range(1, 45));
    await store.close();
  });

  it('lets the event loop run while a search decodes a long run, and finds what it would without', async () => {
    const store = new SqliteStore(tempFile());
    await store.upsertRun({ id: 'long' });
    const total = 1_000_000;
    for (let from = 1; from <= total; from += 20_000) await store.appendRecords('long', range(from, from + 19_999).map((seq) => rec('long', seq, `alpha beta alpha gamma ${seq}`)));
    // every chunk's bloom has this text's trigrams, no line has the text: every line is decoded
    const q = 'beta alpha beta';
    // turns of the event loop while each read runs (what a request or a live viewer waits for)
    let turns = 0;
    let reading = true;
    const turn = () => {
      turns++;
      if (reading) setImmediate(turn);
    };
    setImmediate(turn);
    try {
      const start = turns;
      expect((await store.queryLogs('long', { q })).records).toEqual([]);
      const between = turns;
      expect((await store.searchLines({ q })).records).toEqual([]);
      expect(between).toBeGreaterThan(start);
      expect(turns).toBeGreaterThan(between);
    } finally {
      reading = false;
    }
    expect((await store.queryLogs('long', { q: 'GAMMA 999999' })).records.map((r) => r.seq)).toEqual([999_999]);
    await store.close();
  });

  it('takes every line once when a tail is read while batches arrive and the stream compacts', async () => {
    const store = new SqliteStore(tempFile());
    await store.upsertRun({ id: 'busy' });
    for (let from = 1; from <= 200_000; from += 5_000) await store.appendRecords('busy', range(from, from + 4_999).map((seq) => rec('busy', seq)));
    let next = 200_001;
    let writing = true;
    // a writer with small batches (compaction merges them) and resends, as long as the reads go on
    const writer = (async () => {
      while (writing) {
        await store.appendRecords('busy', [rec('busy', next - 1), rec('busy', next), rec('busy', next + 1)]);
        next += 2;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    try {
      for (let i = 0; i < 5; i++) {
        const forward = await store.queryLogs('busy', { q: 'step', after: 100_000, limit: 10_000 });
        expect(forward.records.map((r) => r.seq)).toEqual(range(100_001, 110_000));
        const back = await store.queryLogs('busy', { q: 'loss', before: 150_000, tail: 10_000 });
        expect(back.records.map((r) => r.seq)).toEqual(range(140_000, 149_999));
      }
    } finally {
      writing = false;
      await writer;
    }
    const all = await store.queryLogs('busy', { after: 0, limit: 10_000 });
    expect(all.records.map((r) => r.seq)).toEqual(range(1, 10_000));
    await store.close();
  });
});
