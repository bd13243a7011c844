import { describe, expect, it } from 'vitest';
import { LineSplitter, SEGMENT_LINE, SEGMENT_PROGRESS, type SegmentKind } from './lines.js';

interface Seg {
  text: string;
  kind: SegmentKind;
  truncated: boolean;
}

function split(chunks: (string | Buffer)[], max?: number): Seg[] {
  const out: Seg[] = [];
  const splitter = new LineSplitter((text, kind, truncated) => out.push({ text, kind, truncated }), max);
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  splitter.end();
  return out;
}

const line = (text: string, truncated = false): Seg => ({ text, kind: SEGMENT_LINE, truncated });
const bar = (text: string): Seg => ({ text, kind: SEGMENT_PROGRESS, truncated: false });

describe('LineSplitter', () => {
  it('ends lines at \\n, \\r\\n and end of input, keeping a last line without newline', () => {
    expect(split(['a\nb\r\nc'])).toEqual([line('a'), line('b'), line('c')]);
  });

  it('keeps empty lines', () => {
    expect(split(['a\n\n\nb\n'])).toEqual([line('a'), line(''), line(''), line('b')]);
  });

  it('treats a lone \\r as a progress update and CRLF as a line end', () => {
    expect(split(['\r 10%\r 50%\r100%\n'])).toEqual([bar(''), bar(' 10%'), bar(' 50%'), line('100%')]);
  });

  it('tells CRLF from progress when \\r and \\n arrive in different reads', () => {
    expect(split(['one\r', '\ntwo\r', 'three\n'])).toEqual([line('one'), bar('two'), line('three')]);
  });

  it('ends a trailing lone \\r at end of input as a progress update', () => {
    expect(split(['50%\r'])).toEqual([bar('50%')]);
  });

  it('joins lines split across many reads', () => {
    expect(split(['hel', 'lo wo', 'rld\nnext', '\n'])).toEqual([line('hello world'), line('next')]);
  });

  it('keeps a multi-byte character split across two reads whole', () => {
    const euro = Buffer.from('5€\n');
    expect(split([euro.subarray(0, 2), euro.subarray(2)])).toEqual([line('5€')]);
  });

  it('turns invalid UTF-8 into U+FFFD without throwing', () => {
    expect(split([Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a])])).toEqual([line('a\uFFFD\uFFFDb')]);
  });

  it('cuts a line over the limit, flags it truncated, and goes on with the next line', () => {
    const segs = split(['x'.repeat(25), 'y'.repeat(10), '\nafter\n'], 16);
    expect(segs).toEqual([line('x'.repeat(16), true), line('after')]);
  });

  it('cuts a long line inside one read too', () => {
    expect(split(['z'.repeat(40) + '\nok\n'], 16)).toEqual([line('z'.repeat(16), true), line('ok')]);
  });

  it('never cuts a multi-byte character in two when truncating', () => {
    const segs = split(['€'.repeat(10) + '\n'], 8); // 3 bytes each: 2 whole characters fit
    expect(segs).toEqual([line('€€', true)]);
  });

  it('keeps memory bounded by the limit on a 10 MB line', () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const out: Seg[] = [];
    const splitter = new LineSplitter((text, kind, truncated) => out.push({ text, kind, truncated }), 64 * 1024);
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
    let peak = 0;
    for (let i = 0; i < 160; i++) {
      splitter.push(chunk);
      const now = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
      peak = Math.max(peak, now - before);
    }
    splitter.push(Buffer.from('\nend\n'));
    expect(out.map((s) => [s.text.length, s.truncated])).toEqual([
      [64 * 1024, true],
      [3, false],
    ]);
    // 10 MB went through; the splitter holds at most one line's worth at a time
    expect(peak).toBeLessThan(8 * 1024 * 1024);
  });
});
