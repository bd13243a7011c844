import fc from 'fast-check';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LEVELS, type LogRecord } from '../../core/record.js';
import { ByteWriter } from './bytes.js';
import { joinSegments, splitSegments, STORE_BELOW_BYTES } from './codec.js';
import { bloomMayContain, decodeChunk, encodeChunk, mergeChunks, searchText } from './index.js';

const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', '\x1b[31mred\x1b[0m text', 'ΑΣ Straße İstanbul 日本語 😀'));
const attrs = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.boolean(), fc.string()), { maxKeys: 3 });

/** unique seqs, sorted, with their fields drawn at random */
const records = fc
  .uniqueArray(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 1, maxLength: 60 })
  .chain((seqs) =>
    fc.tuple(
      ...[...seqs].sort((a, b) => a - b).map((seq) =>
        fc.record(
          {
            seq: fc.constant(seq),
            timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 52 }), fc.double({ min: 0, max: 2e15, noNaN: true })),
            level: fc.constantFrom(...LEVELS),
            message: text,
            source: fc.constantFrom('stdout' as const, 'stderr' as const, 'system' as const),
            phase: fc.constantFrom('setup' as const, 'run' as const),
            logger: fc.string({ maxLength: 10 }),
            task_id: fc.string({ maxLength: 10 }),
            attrs,
          },
          { requiredKeys: ['seq', 'timestamp', 'level', 'message'] },
        ),
      ),
    ),
  )
  .map((list) => list.map((r): LogRecord => ({ stream: 's', ...r })));

describe('chunk codec', () => {
  it('decodes exactly what it encoded: unicode, ANSI codes, attrs, empty messages, optional fields absent', () => {
    fc.assert(
      fc.property(records, (list) => {
        expect(decodeChunk('s', encodeChunk(list).data)).toEqual(list);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a chunk whose text runs past its 16K-character pieces, whatever character ends a piece', () => {
    // the text section is written a piece at a time; a line ending in half a surrogate pair, the
    // next line beginning with the other half, must still come back whole (as one string would)
    const long = fc.tuple(fc.integer({ min: 16_370, max: 16_400 }), fc.constantFrom('😀', 'é', '日本', '\ud83d')).map(([n, tail]) => 'a'.repeat(n) + tail);
    const short = fc.constantFrom('😀', 'x', '', '\ude00 low half first');
    fc.assert(
      fc.property(fc.array(fc.oneof(long, short), { minLength: 1, maxLength: 8 }), (messages) => {
        const list = messages.map((message, i): LogRecord => ({ stream: 's', seq: i + 1, timestamp: 1, level: 'INFO', message }));
        const text = (records: LogRecord[]) => Buffer.from(records.map((r) => r.message).join('')).toString();
        expect(text(decodeChunk('s', encodeChunk(list).data))).toEqual(text(list));
      }),
      { numRuns: 200 },
    );
  });

  it('describes its lines in the meta: seq range, count, time range, levels present', () => {
    const list: LogRecord[] = [
      { stream: 's', seq: 3, timestamp: 50, level: 'INFO', message: 'a' },
      { stream: 's', seq: 9, timestamp: 20, level: 'ERROR', message: 'b' },
    ];
    expect(encodeChunk(list).meta).toMatchObject({ first_seq: 3, last_seq: 9, count: 2, min_ts: 20, max_ts: 50, levels: 0b1010 });
  });

  it('never answers no for a text a line contains, any case, ANSI codes ignored', () => {
    fc.assert(
      fc.property(records, fc.nat(), fc.nat(), fc.nat({ max: 12 }), (list, pick, start, length) => {
        const line = searchText((list[pick % list.length] as LogRecord).message);
        const from = line.length === 0 ? 0 : start % line.length;
        const needle = line.slice(from, from + length);
        const { meta } = encodeChunk(list);
        expect(bloomMayContain(meta.bloom, needle)).toBe(true);
        // any spelling of its ASCII letters: search's own definition of a match (foldAscii)
        const shouted = needle.replace(/[a-z]/g, (letter) => letter.toUpperCase());
        expect(bloomMayContain(meta.bloom, shouted)).toBe(true);
      }),
      { numRuns: 300 },
    );
    const { meta } = encodeChunk([{ stream: 's', seq: 1, timestamp: 1, level: 'INFO', message: '\x1b[1mCUDA\x1b[0m out of memory' }]);
    expect(bloomMayContain(meta.bloom, 'cuda OUT')).toBe(true);
    // every piece of a line with a Σ at a word's end (toLowerCase makes it ς there, σ in a piece) and an İ
    const greek = 'ΑΣ Straße İstanbul 日本語 😀';
    const { meta: withGreek } = encodeChunk([{ stream: 's', seq: 1, timestamp: 1, level: 'INFO', message: greek }]);
    const text = searchText(greek);
    for (let from = 0; from < text.length; from++) {
      for (let length = 3; from + length <= text.length; length++) expect(bloomMayContain(withGreek.bloom, text.slice(from, from + length)), text.slice(from, from + length)).toBe(true);
    }
  });

  it('mostly answers no for a text no line contains', () => {
    const list = Array.from({ length: 2000 }, (_, i): LogRecord => ({ stream: 's', seq: i + 1, timestamp: i, level: 'INFO', message: `step ${i} loss=${1 / (i + 1)}` }));
    const { meta } = encodeChunk(list);
    const absent = Array.from({ length: 200 }, (_, i) => `needle-${i}-xyz`);
    const maybes = absent.filter((needle) => bloomMayContain(meta.bloom, needle)).length;
    expect(maybes).toBeLessThan(10);
  });

  it('merges consecutive chunks, large and small, into one that decodes to all their lines', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 6 }), (sizes) => {
        let seq = 0;
        const parts = sizes.map((size) =>
          Array.from({ length: size }, (): LogRecord => {
            seq++;
            return { stream: 's', seq, timestamp: seq * 10, level: seq % 7 === 0 ? 'ERROR' : 'INFO', message: `line ${seq}` };
          }),
        );
        const merged = mergeChunks(parts.map((part) => encodeChunk(part)));
        expect(decodeChunk('s', merged.data)).toEqual(parts.flat());
        expect(merged.meta).toMatchObject({ first_seq: 1, last_seq: seq, count: seq, min_ts: 10, max_ts: seq * 10 });
        expect(bloomMayContain(merged.meta.bloom, `line ${seq}`)).toBe(true);
        expect(bloomMayContain(merged.meta.bloom, 'line 1')).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('keeps a small batch uncompressed, as stored blocks any inflate reads, compresses a large one, and reads segments zlib compressed', () => {
    const lines = (count: number): LogRecord[] =>
      Array.from({ length: count }, (_, i) => ({ stream: 's', seq: i + 1, timestamp: 1_700_000_000_000_000 + i, level: 'INFO', message: `step ${i} loss=${(1 / (i + 1)).toFixed(5)} lr=3e-4` }));
    const small = lines(10);
    const smallData = encodeChunk(small).data;
    expect(smallData.includes(Buffer.from((small[3] as LogRecord).message))).toBe(true); // not compressed
    const [segment] = splitSegments(smallData);
    expect(segment).toBeDefined();
    const body = inflateRawSync(segment!.body); // zlib reads the stored block: the format is deflate's
    expect(body.length).toBeLessThan(STORE_BELOW_BYTES);
    // the same body compressed by zlib, as releases before stored blocks wrote every segment, reads the same
    const compressed = deflateRawSync(body);
    const entry = new ByteWriter(compressed.length + 16);
    entry.uvarint(segment!.count);
    entry.byte(segment!.levels);
    entry.uvarint(compressed.length);
    entry.bytes(compressed);
    expect(decodeChunk('s', joinSegments([entry.result()]))).toEqual(small);
    expect(decodeChunk('s', joinSegments([segment!.entry, entry.result()]))).toEqual([...small, ...small]);
    const large = lines(2000);
    const largeData = encodeChunk(large).data;
    expect(largeData.length).toBeLessThan(large.reduce((sum, line) => sum + line.message.length, 0) / 3); // compressed
    expect(decodeChunk('s', largeData)).toEqual(large);
  });
});
