import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from './limits.js';
import { microsToIso } from './record.js';
import { parseIsoMicros, parseSince } from './time.js';

describe('parseIsoMicros', () => {
  it('reads back every µs it writes, 1970 to 2255 (where µs are exact)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (micros) => {
        expect(parseIsoMicros(microsToIso(micros))).toBe(micros);
      }),
      { seed: 8, numRuns: 2000 },
    );
  });

  it('refuses a day past the end of its month, and takes every day within it (issue 8)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1970, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (year, month, day) => {
        const real = new Date(Date.UTC(2000, month - 1, day));
        real.setUTCFullYear(year, month - 1, day);
        const exists = real.getUTCDate() === day; // the calendar's own answer: Feb 30 rolls over to March
        const text = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T12:00:00Z`;
        expect(parseIsoMicros(text) !== undefined).toBe(exists);
      }),
      { seed: 8, numRuns: 2000 },
    );
  });

  it.each(['2026-02-30', '2026-02-29', '2100-02-29', '2026-00-10', '2026-13-01', '2026-01-01T24:00', '2026-01-01T00:00+24:00', '10000-01-01', '0999-01-01', '1969-12-31T23:59:59.999999Z', '1', 'May 3'])(
    'refuses %s',
    (text) => expect(parseIsoMicros(text)).toBeUndefined(),
  );

  it.each([
    ['2024-02-29', Date.UTC(2024, 1, 29) * 1000],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29) * 1000],
    ['2026-01-02 03:04:05.123456', Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 123_456],
    ['2026-01-02T03:04:05+0130', Date.UTC(2026, 0, 2, 1, 34, 5) * 1000],
    ['1970-01-01', 0],
    ['9999-12-31T23:59:59.999999Z', LIMITS.timestampMicros.max],
  ])('reads %s', (text, micros) => expect(parseIsoMicros(text)).toBe(micros));

  it('writes the last µs it accepts as a date in 9999', () => {
    expect(microsToIso(LIMITS.timestampMicros.max)).toMatch(/^9999-12-31T23:59:59\.\d{6}Z$/);
  });
});

describe('parseSince', () => {
  it('takes a number since the epoch in seconds, ms or µs as the API says, and refuses one past 9999', () => {
    const at = Date.UTC(2026, 10, 23, 20, 26, 21, 233) * 1000;
    expect(parseSince('1795465581.233')).toBe(at);
    expect(parseSince('1795465581233')).toBe(at);
    expect(parseSince(String(at))).toBe(at);
    expect(parseSince(' 0 ')).toBe(0);
    expect(parseSince('99999999999999999999')).toBeUndefined();
    // a number must come to a safe integer of µs, as a line's timestamp must: 2^53 µs was taken
    expect(parseSince('9007199254740991')).toBe(2 ** 53 - 1);
    expect(parseSince('9007199254740992')).toBeUndefined();
    expect(parseSince('9007199254740993')).toBeUndefined();
    expect(parseSince('-5')).toBeUndefined();
    expect(parseSince('1e9')).toBeUndefined();
  });

  it('reads a duration back from now and an ISO time as before', () => {
    expect(parseSince('2026-11-23T20:26:21.233Z')).toBe(Date.UTC(2026, 10, 23, 20, 26, 21, 233) * 1000);
    const before = Date.now() * 1000;
    const tenMinutesAgo = parseSince('10m') as number;
    expect(before - tenMinutesAgo).toBeGreaterThanOrEqual(600e6 - 1e6);
    expect(before - tenMinutesAgo).toBeLessThanOrEqual(600e6 + 1e6);
  });
});
