import { describe, expect, it } from 'vitest';
import { normalizeBasePath } from './config.js';

describe('normalizeBasePath', () => {
  it('takes /runlog however it is slashed, and nothing for / or empty', () => {
    for (const path of ['/runlog', 'runlog', '/runlog/', '//runlog//', ' /runlog ']) expect(normalizeBasePath(path)).toBe('/runlog');
    expect(normalizeBasePath('/team/logs.v2')).toBe('/team/logs.v2');
    expect(normalizeBasePath('')).toBe('');
    expect(normalizeBasePath('/')).toBe('');
  });

  it('refuses . and .. segments (no request reaches them) and characters a path would need escaped', () => {
    for (const path of ['/../x', '/a/./b', '..', '/x/..', '/a b', '/a?b', '/a%2f']) expect(() => normalizeBasePath(path)).toThrow(/base path/);
  });
});
