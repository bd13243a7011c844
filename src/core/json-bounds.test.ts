import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitJsonObject, jsonDepth, JSON_BOUNDS, surelyFits } from './json-bounds.js';

const fits = (value: Record<string, unknown>) =>
  jsonDepth(value, JSON_BOUNDS.depth) <= JSON_BOUNDS.depth && Buffer.byteLength(JSON.stringify(value)) <= JSON_BOUNDS.bytes;

const nested = (depth: number): Record<string, unknown> => {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level++) value = { a: value };
  return value;
};

describe('JSON within the hub\'s bounds', () => {
  it('counts depth without recursion, 100,000 deep included, and stops past the limit', () => {
    expect(jsonDepth({}, 8)).toBe(1);
    expect(jsonDepth({ a: [1, { b: 2 }] }, 8)).toBe(3);
    expect(jsonDepth(nested(100_000), 8)).toBe(9);
  });

  it('always gives something the hub takes, and the value itself when it already fits', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 12 })), fc.integer({ min: 0, max: 40_000 }), (value, pad) => {
        const padded = pad > 0 ? { ...value, pad: 'é\n"'.repeat(pad / 3) } : value;
        const fitted = fitJsonObject(padded);
        expect(fits(fitted)).toBe(true);
        if (fits(padded)) expect(fitted).toBe(padded);
        if (surelyFits(padded)) expect(fits(padded)).toBe(true);
      }),
      { seed: 8, numRuns: 300 },
    );
  });

  it('keeps what it can of attrs too deep or too large, as text, and never throws', () => {
    expect(fitJsonObject(nested(10)).attrs_cut).toBe(JSON.stringify(nested(10)));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(String(fitJsonObject(circular).attrs_cut)).toMatch(/^not serializable/);
    expect(String(fitJsonObject({ n: 1n }).attrs_cut)).toMatch(/^not serializable/);
    expect(String(fitJsonObject(nested(100_000)).attrs_cut)).toMatch(/^not serializable|^\{"a":/);
  });
});
