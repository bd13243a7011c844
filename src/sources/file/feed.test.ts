import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { RecordBuilder } from '../../pipeline/records.js';
import { LineFeed } from './feed.js';

const IDENTITY = { dev: 1, ino: 2, fp: '', fp_len: 0 };

function builder(max = 64) {
  const records: LogRecord[] = [];
  const b = new RecordBuilder({ stream: 's', maxLineBytes: max, sink: { record: (r) => records.push(r), progress: () => {} } });
  return { b, records };
}

/** What captured output gives for these bytes in one read. */
function captured(bytes: Buffer, max = 64): string[] {
  const { b, records } = builder(max);
  const source = b.source('file', { path: 'p' });
  source.push(bytes);
  source.end();
  return records.map((r) => r.message);
}

// log-like bytes: words, é and a 4-byte emoji, \n, \r\n, lone \r (progress), lines past the limit
// (ended by \n: a progress bar past the limit is cut as a line or a bar depending on where the
// reads end, for captured output as well)
const piece = fc.constantFrom('a', 'line', 'é', '😀', '\n', '\r\n', '\r', ' 50%', 'Traceback (most recent call last):\n', `\n${'x'.repeat(70)}\n`);
const bytesArb = fc.array(piece, { maxLength: 40 }).map((parts) => Buffer.from(parts.join('')));

function cutsOf(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(at, point));
    at = point;
  }
  chunks.push(bytes.subarray(at));
  return chunks;
}

describe('LineFeed', () => {
  it('splits a file read in any pieces exactly as captured output read at once', () => {
    fc.assert(
      fc.property(bytesArb, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const { b, records } = builder();
        const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64);
        for (const chunk of cutsOf(bytes, cuts)) feed.take(chunk);
        feed.flush();
        expect(records.map((r) => r.message)).toEqual(captured(bytes));
        expect(records.every((r) => r.source === 'file' && r.attrs?.path === 'p')).toBe(true);
      }),
    );
  });

  it('marks offsets that a restart can take up from: the bytes before a mark are exactly its seq records', () => {
    fc.assert(
      fc.property(bytesArb, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const { b } = builder();
        const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64);
        for (const chunk of cutsOf(bytes, cuts)) feed.take(chunk);
        feed.flush();
        const seen: number[] = [];
        for (let seq = 0; seq <= b.lastSeq; seq++) {
          const mark = feed.delivered(seq);
          if (mark === undefined) continue;
          seen.push(mark.offset);
          // resuming at the mark: the records before it, then the rest, are the whole
          const before = captured(bytes.subarray(0, mark.offset));
          expect(before.length).toBe(mark.seq);
          expect([...before, ...captured(bytes.subarray(mark.offset))]).toEqual(captured(bytes));
        }
        expect(seen).toEqual([...seen].sort((x, y) => x - y));
      }),
    );
  });

  it('holds a partial line until its newline, and lets it go after the timeout once the file stops growing', () => {
    const { b, records } = builder();
    const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64);
    feed.take(Buffer.from('one\ntw'));
    feed.flushIfIdle(1000, Date.now() + 500);
    expect(records.map((r) => r.message)).toEqual(['one']);
    feed.take(Buffer.from('o\nthr'));
    expect(records.map((r) => r.message)).toEqual(['one', 'two']);
    feed.flushIfIdle(1000, Date.now() + 1000);
    expect(records.map((r) => r.message)).toEqual(['one', 'two', 'thr']);
    expect(feed.delivered(3)?.offset).toBe(11);
  });

  it('does not cut a progress bar at the timeout: its next update replaces it', () => {
    const { b, records } = builder();
    const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64);
    feed.take(Buffer.from('start\n\r 10%'));
    feed.flushIfIdle(1000, Date.now() + 5000);
    feed.take(Buffer.from('\r100%\n'));
    expect(records.map((r) => r.message)).toEqual(['start', '100%']);
  });

  it('does not take a slow sink for an idle file: the partial timeout counts from after the push (bench/follow.js found a line cut in two)', () => {
    const pushed: string[] = [];
    const slowSink = {
      push(chunk: Buffer) {
        pushed.push(chunk.toString());
        const until = Date.now() + 60; // a spool write on a busy machine
        while (Date.now() < until) {
          // busy
        }
      },
      end() {},
    };
    const feed = new LineFeed(slowSink, () => 0, IDENTITY, 0, 64);
    feed.take(Buffer.from('whole\npart'));
    feed.flushIfIdle(50);
    expect(pushed).toEqual(['whole\n']);
  });

  it('counts a BOM at the file start as read and pushes none of it, in whatever pieces its bytes come', () => {
    const bytes = Buffer.from('\uFEFFone\ntwo\n');
    for (let cut = 0; cut <= 4; cut++) {
      const { b, records } = builder();
      const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64);
      for (let at = 0; at < cut; at++) feed.take(bytes.subarray(at, at + 1));
      feed.take(bytes.subarray(cut, 7));
      feed.take(bytes.subarray(7));
      feed.flush();
      expect(records.map((r) => r.message)).toEqual(['one', 'two']);
      expect(feed.delivered(1, true)?.offset).toBe(7); // after 'one\n': the BOM's 3 bytes counted
      expect(feed.delivered(2)?.offset).toBe(bytes.length);
    }
  });

  it('keeps the first bytes that only looked like the start of a BOM, and one past the file start', () => {
    const { b, records } = builder();
    const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64);
    feed.take(Buffer.from([0xef]));
    feed.take(Buffer.from('x\n\uFEFFy\n'));
    feed.flush();
    expect(records.map((r) => r.message)).toEqual(['\uFFFDx', '\uFEFFy']);
  });
});

describe('a batch ending inside a read', () => {
  // the hub took 4 of the 10 lines one read made: a restart beside a rotated file numbers on after
  // the checkpoint's last seq, so the offset must stand for exactly those 4 (else they come twice)
  it('is placed after the line of its last seq', () => {
    const file = Buffer.from(Array.from({ length: 10 }, (_, i) => `line ${i + 1}\n`).join(''));
    const records: LogRecord[] = [];
    const b = new RecordBuilder({ stream: 's', sink: { record: (r) => records.push(r), progress: () => {} } });
    const reread = (at: number, length: number) => file.subarray(at, at + length);
    const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64, undefined, reread);
    feed.take(file);
    expect(records).toHaveLength(10);
    expect(feed.delivered(4)).toMatchObject({ seq: 4, offset: file.indexOf('line 5') });
    expect(feed.delivered(10)).toMatchObject({ seq: 10, offset: file.length });
  });

  it('stays at the mark below when the read has a progress bar (lines and records do not match)', () => {
    const file = Buffer.from('a\nb\rc\rd\ne\nf\n');
    const records: LogRecord[] = [];
    const b = new RecordBuilder({ stream: 's', sink: { record: (r) => records.push(r), progress: () => {} } });
    const feed = new LineFeed(b.source('file', { path: 'p' }), () => b.lastSeq, IDENTITY, 0, 64, undefined, (at, length) => file.subarray(at, at + length));
    feed.take(file);
    expect(feed.delivered(1)).toMatchObject({ seq: 0, offset: 0 }); // the file's start
  });
});
