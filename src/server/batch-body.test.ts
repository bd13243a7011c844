import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH_END, BATCH_HEAD, BATCH_SEPARATOR, BatchBodyWriter } from '../core/batch-wire.js';
import { FAST_MIN_BYTES, parseBatchBody } from './batch-body.js';

/** What the app's parser does with a whole text: JSON.parse, refusing `__proto__` keys as fastify's does. */
function strictParse(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (/"__proto__"\s*:/.test(text)) throw new Error('proto poisoning');
  return value;
}

/** parseBatchBody's answer as a value or as the fact that it threw, and the whole parse's the same way */
function outcome(run: () => unknown): { value: unknown } | { threw: true } {
  try {
    return { value: run() };
  } catch {
    return { threw: true };
  }
}

const record = fc.record({
  seq: fc.integer({ min: 1, max: 1e9 }),
  message: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.constant('a,\nb\n]}{"records":[')),
  attrs: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null))), { nil: undefined }),
});
const progress = fc.array(fc.record({ source: fc.constantFrom('stdout', 'stderr'), text: fc.string({ maxLength: 40 }) }), { maxLength: 2 });
/** enough records that the body is past FAST_MIN_BYTES and splits into several groups */
const padded = (records: object[]) => records.map((r, i) => ({ ...r, pad: 'x'.repeat(i % 7 === 0 ? 40_000 : 900) }));

describe('parseBatchBody: a runner\'s batch read a group of records at a time', () => {
  it('gives what parsing the whole body gives, for every body BatchBodyWriter writes', () => {
    const writer = new BatchBodyWriter();
    fc.assert(
      fc.property(fc.array(record, { minLength: 0, maxLength: 400 }), progress, (records, updates) => {
        const full = padded(records);
        const body = Buffer.from(writer.write(full.map((r) => JSON.stringify(r)), updates));
        const expected = JSON.parse(body.toString('utf8'));
        expect(expected.records).toEqual(JSON.parse(JSON.stringify(full)));
        expect(parseBatchBody(body, strictParse)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('takes the fast road for a big body (every group parsed alone), and the whole one for a small body', () => {
    const texts: string[] = [];
    const writer = new BatchBodyWriter();
    const records = Array.from({ length: 2000 }, (_, seq) => JSON.stringify({ seq: seq + 1, message: `line ${seq} ${'y'.repeat(100)}` }));
    const body = Buffer.from(writer.write(records, [{ source: 'stdout', text: '3/10' }]));
    expect(body.length).toBeGreaterThan(FAST_MIN_BYTES);
    const parsed = parseBatchBody(body, (text) => (texts.push(text), JSON.parse(text))) as { records: { seq: number }[]; progress: unknown[] };
    expect(parsed.records.map((r) => r.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(parsed.progress).toEqual([{ source: 'stdout', text: '3/10' }]);
    expect(texts.length).toBeGreaterThan(5);
    expect(Math.max(...texts.map((t) => t.length))).toBeLessThan(64 * 1024);
    texts.length = 0;
    parseBatchBody(Buffer.from(writer.write(records.slice(0, 10))), (text) => (texts.push(text), JSON.parse(text)));
    expect(texts).toHaveLength(1);
  });

  it('answers as the whole parse does (the same value, or a refusal) for any body of the batch shape, however it was changed', () => {
    const big = Array.from({ length: 1500 }, (_, seq) => JSON.stringify({ seq: seq + 1, message: `m${seq}${'z'.repeat(80)}` }));
    const edits = fc.array(
      fc.record({
        at: fc.nat(),
        cut: fc.nat({ max: 3 }),
        insert: fc.constantFrom('', ',', '\n', ',\n', '\n]', ']', '[', '{', '}', '"', '\\', ' ', '"__proto__":{"a":1},', '"records":[],', '\n],"records":5', ',\n,\n', 'null'),
      }),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(edits, fc.constantFrom('}', ',"progress":[]}', ',"records":[]}', ',"a":"\\n]"}', '\n]}', ',"p":[\n1\n]}'), (changes, rest) => {
        let text = `${BATCH_HEAD}${big.join(BATCH_SEPARATOR)}${BATCH_END}${rest}`;
        for (const { at, cut, insert } of changes) {
          const where = at % text.length;
          text = text.slice(0, where) + insert + text.slice(where + cut);
        }
        const body = Buffer.from(text);
        const fast = outcome(() => parseBatchBody(body, strictParse));
        const whole = outcome(() => strictParse(text));
        expect(fast).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });
});
