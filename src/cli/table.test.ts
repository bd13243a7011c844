import { describe, expect, it } from 'vitest';
import { table } from './table.js';

describe('table', () => {
  it('prints stored text (a run\'s name) with no escape sequence or control character, and pads by what is printed', () => {
    const text = table(['ID', 'NAME'], [['r1', '\x1b]0;pwned\x07\x1b[2Jtrain\rnew\x1b[31m!'], ['r22', 'x\ny']]);
    expect(text).toBe('ID   NAME\nr1   trainnew!\nr22  x y\n');
  });
});
