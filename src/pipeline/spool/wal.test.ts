import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { self } from './owner.js';
import { lastSeqInWal, listWals, Wal, WalReader, type WalMeta } from './wal.js';

const dir = () => mkdtempSync(join(tmpdir(), 'runlog-wal-'));
const meta = (id: string): WalMeta => ({ version: 1, run: { id }, writer_key: 'k3y', hub: 'http://127.0.0.1:1', acked_seq: 0, owner: self('run') });
const record = (seq: number) => JSON.stringify({ stream: 'r', seq, message: `line ${seq}` });

describe('Wal', () => {
  it('reads back from any seq, in order, across batches and what is still buffered', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 20 }), fc.nat(), (batches, pick) => {
        const wal = new Wal(dir(), meta('r'));
        let seq = 0;
        for (const [i, size] of batches.entries()) {
          for (let n = 0; n < size; n++) wal.add(++seq, record(seq));
          if (i < batches.length - 1) wal.flush(); // the last batch stays buffered
        }
        const from = (pick % seq) + 1;
        const page = wal.read(from, 10_000, 1 << 30);
        expect(page.seqs).toEqual(Array.from({ length: seq - from + 1 }, (_, i) => from + i));
        expect(page.json[0]).toBe(record(from));
        expect(page.atEnd).toBe(true);
        wal.remove();
      }),
      { numRuns: 50 },
    );
  });

  it('reads a page as pieces of the file: the same records as read(), within the bounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 40, max: 4000 }), (count, pick, maxLines, maxBytes) => {
        const wal = new Wal(dir(), meta('j'));
        for (let seq = 1; seq <= count; seq++) wal.add(seq, record(seq));
        const from = (pick % count) + 1;
        const page = wal.read(from, maxLines, maxBytes);
        const joined = wal.readJoined(from, maxLines, maxBytes);
        expect(joined.seqs).toEqual(page.seqs);
        expect(joined.atEnd).toBe(page.atEnd);
        expect(joined.pieces.map((piece) => JSON.parse(piece.toString('utf8')))).toEqual(page.json.map((json) => JSON.parse(json)));
        wal.remove();
      }),
      { numRuns: 50 },
    );
  });

  it('tells the last seq a WAL holds (0 for none, a partial last line ignored)', () => {
    const where = dir();
    expect(lastSeqInWal(where, 'nope')).toBe(0);
    const wal = new Wal(where, meta('t'));
    wal.add(1, record(1));
    wal.add(2, record(2));
    wal.add(1234567, record(1234567));
    wal.close();
    expect(lastSeqInWal(where, 't')).toBe(1234567);
    appendFileSync(wal.file, '1234568\t{"half');
    expect(lastSeqInWal(where, 't')).toBe(1234567);
    const one = new Wal(where, meta('one'));
    one.add(7, record(7));
    one.close();
    expect(lastSeqInWal(where, 'one')).toBe(7);
  });

  it('keeps its metadata private (0600), with the writer key, and deletes both files once removed', () => {
    const where = dir();
    const wal = new Wal(where, meta('r1'));
    wal.add(1, record(1));
    wal.end('finish', { status: 'completed' });
    expect(statSync(wal.metaFile).mode & 0o777).toBe(0o600);
    const [found] = listWals(where);
    expect(found?.meta).toMatchObject({ writer_key: 'k3y', end: { path: 'finish', body: { status: 'completed' } } });
    expect(readFileSync(wal.file, 'utf8')).toBe(`1\t${record(1)}\n`);
    wal.remove();
    expect(existsSync(wal.file) || existsSync(wal.metaFile)).toBe(false);
  });

  it('resumes a WAL left by a crash: a partial last line is cut off, the complete ones go first', () => {
    const where = dir();
    const first = new Wal(where, meta('r2'));
    for (let seq = 1; seq <= 3; seq++) first.add(seq, record(seq));
    first.close();
    appendFileSync(first.file, '4\t{"stream":"r","se'); // the crash, mid-write
    const second = new Wal(where, meta('r2'));
    expect(second.resumed).toBe(true);
    second.add(4, record(4));
    expect(second.read(1, 100, 1 << 20).seqs).toEqual([1, 2, 3, 4]);
    second.remove();
  });

  it("reads another process's WAL page by page, skipping damaged lines and a partial last one", () => {
    const file = join(dir(), 'x.wal');
    writeFileSync(file, `1\t${record(1)}\n2\t{not json\n\0\0\0\n3\t${record(3)}\n4\t{"partial`);
    const reader = new WalReader(file);
    const page = reader.next(1, 1, 1 << 20);
    expect(page.seqs).toEqual([1]);
    const rest = reader.next(2, 100, 1 << 20);
    expect(rest.seqs).toEqual([3]);
    expect(rest.atEnd).toBe(true);
    reader.close();
  });
});
