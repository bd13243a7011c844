import { describe, expect, it } from 'vitest';
import { LIMITS } from '../core/limits.js';
import { checkName, labels, UsageError } from './args.js';

describe('flags within the hub\'s bounds (issue 8)', () => {
  const many = (count: number) => Array.from({ length: count }, (_, i) => `k${i}=v`);

  it('takes 64 labels and refuses 65, before a run starts', () => {
    expect(Object.keys(labels(many(LIMITS.labels)))).toHaveLength(LIMITS.labels);
    expect(() => labels(many(LIMITS.labels + 1))).toThrow(UsageError);
  });

  it('takes a label value of 256 bytes and refuses 257, and the same for keys', () => {
    expect(labels([`k=${'x'.repeat(LIMITS.labelValueBytes)}`]).k).toHaveLength(LIMITS.labelValueBytes);
    expect(() => labels([`k=${'x'.repeat(LIMITS.labelValueBytes + 1)}`])).toThrow(/--label/);
    expect(() => labels([`${'k'.repeat(LIMITS.labelKeyBytes + 1)}=v`])).toThrow(/--label/);
  });

  it('leaves --env pairs to the hub\'s own bounds', () => {
    expect(labels([`A=${'x'.repeat(1000)}`], '--env').A).toHaveLength(1000);
  });

  it('takes a name of 256 bytes and refuses 257, counted in bytes as the hub counts them', () => {
    expect(() => checkName('é'.repeat(LIMITS.nameBytes / 2))).not.toThrow();
    expect(() => checkName(`${'é'.repeat(LIMITS.nameBytes / 2)}x`)).toThrow(/--name: at most 256 bytes/);
  });
});
