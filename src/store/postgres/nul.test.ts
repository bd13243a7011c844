/** What NulSafeClient does to a parameter before PostgreSQL sees it (nul.ts). */
import { describe, expect, it } from 'vitest';
import { withoutNul } from './nul.js';

describe('withoutNul', () => {
  it('replaces a lone surrogate, as a character and as the escape JSON.stringify writes, with U+FFFD', () => {
    expect(withoutNul('a\ud800b\udc00')).toBe('a\uFFFDb\uFFFD');
    expect(withoutNul(JSON.stringify({ ['k\udc00']: 'v\ud800' }))).toBe('{"k\\ufffd":"v\\ufffd"}');
    expect(withoutNul('{"k":"\\uD800x"}')).toBe('{"k":"\\ufffdx"}');
    expect(withoutNul({ m: { 'x\ud800': ['\udfff'] } })).toEqual({ m: { 'x\uFFFD': ['\uFFFD'] } });
  });

  it('keeps what is no lone surrogate: a whole pair, its escapes, an escaped backslash before u, a text that is not JSON', () => {
    const same = ['\ud83d\ude00', '{"e":"\\ud83d\\ude00"}', '{"t":"\\\\ud800"}', 'a line that says \\ud800', '"\\ud800'];
    for (const text of same) expect(withoutNul(text)).toBe(text);
    const value = { pair: '\ud83d\ude00' };
    expect(withoutNul(value)).toBe(value);
  });
});
