import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { terminalJson, terminalSafe } from './terminal.js';

const colour = { colour: true };
const pipe = { colour: false };

/** strings rich in the bytes escape sequences are made of */
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom('\x1b', '\x1b[', '\x1b]', '\x1bP', '\x1b_', '\x1b^', '\x1bX', '\x1b\\', '\x07', '\x9b', '\x9c', '\x9d', '\x90', '\x85'),
      fc.constantFrom('[', ']', 'm', '0', '1', '3', '5', '8', ';', ':', '?', 'H', 'J', 'K', '(', 'B', '7', 'c'),
      fc.constantFrom('\r', '\b', '\t', '\n', '\x00', '\x7f', 'a', 'é', '日', '🙂'),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

const SGR = /\x1b\[[\d;:]*m/g;
/** ESC only at the start of a complete SGR; no control character but tab and line feed */
const TERMINAL_SAFE = /^(?:\x1b\[[\d;:]*m|[^\x00-\x08\x0b-\x1f\x7f-\x9f])*$/;
const NO_CONTROL = /^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$/;

const plainText = fc.string({ maxLength: 20 }).map((text) => text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, ''));
/** styles and basic colours, several to a sequence; or one 256-colour or true colour (whose arguments may be 8) */
const colourSgr = fc.oneof(
  fc.array(fc.oneof(fc.constantFrom('', '0', '1', '2', '3', '4', '7', '9', '22', '39', '49'), fc.integer({ min: 30, max: 107 }).map(String)), { maxLength: 4 }).map((params) => params.join(';')),
  fc.constantFrom('38;5;8', '48;2;8;8;8', '38:5:8', '38;5;196', '1;38;2;8;80;255;4'),
).map((params) => `\x1b[${params}m`);

describe('terminalSafe', () => {
  it('writes ESC only to start a complete SGR, and no control character but tab and line feed', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(terminalSafe(text, colour)).toMatch(TERMINAL_SAFE);
      }),
      { seed: 8, numRuns: 5000 },
    );
  });

  it('writes no escape and no control character but tab and line feed into a pipe', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(terminalSafe(text, pipe)).toMatch(NO_CONTROL);
      }),
      { seed: 8, numRuns: 5000 },
    );
  });

  it('writes into a pipe what it writes on a terminal, less the colours', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(terminalSafe(text, pipe)).toBe(terminalSafe(text, colour).replace(SGR, ''));
      }),
      { seed: 8, numRuns: 2000 },
    );
  });

  it('leaves text that has only colours (SGR) as it is, with a reset after a colour left on', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(plainText, colourSgr), { maxLength: 10 }), (parts) => {
        const text = parts.join('');
        const sgrs = text.match(/\x1b\[[0-9;:]*m/g) ?? [];
        const leftOn = sgrs.length > 0 && !/^\x1b\[(0*;)*0*m$/.test(sgrs.at(-1)!);
        expect(terminalSafe(text, colour)).toBe(leftOn ? `${text}\x1b[0m` : text);
      }),
      { seed: 8, numRuns: 2000 },
    );
  });

  it('ends a line that leaves a colour on with a reset, so it does not paint the next line or the prompt', () => {
    expect(terminalSafe('failed \x1b[31;1m', colour)).toBe('failed \x1b[31;1m\x1b[0m');
    expect(terminalSafe('\x1b[32mok\x1b[0m done', colour)).toBe('\x1b[32mok\x1b[0m done');
    expect(terminalSafe('failed \x1b[31;1m', { colour: false })).toBe('failed ');
  });

  it('changes nothing the second time', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const once = terminalSafe(text, colour);
        expect(terminalSafe(once, colour)).toBe(once);
      }),
      { seed: 8, numRuns: 2000 },
    );
  });

  it.each([
    ['a clipboard write (OSC 52, BEL)', 'before\x1b]52;c;cm0gLXJmIH4K\x07after', 'beforeafter'],
    ['a clipboard write (OSC 52, ST)', 'before\x1b]52;c;cm0gLXJmIH4K\x1b\\after', 'beforeafter'],
    ['a window title (OSC 0 and 2)', '\x1b]0;pwned\x07\x1b]2;pwned\x07text', 'text'],
    ['a hyperlink (OSC 8)', '\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\', 'click'],
    ['an unterminated OSC', 'text\x1b]52;c;AAAA', 'text'],
    ['clear screen and home', '\x1b[2J\x1b[Htext', 'text'],
    ['erase line and cursor up', 'text\x1b[1A\x1b[2K\x1b[K', 'text'],
    ['a hidden cursor (private CSI)', '\x1b[?25ltext', 'text'],
    ['a DCS string', '\x1bP1$qm\x1b\\text', 'text'],
    ['APC, PM and SOS strings', '\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\text', 'text'],
    ['two-byte escapes (save cursor, reset, charset)', '\x1b7\x1bc\x1b(Btext\x1b8', 'text'],
    ['an 8-bit CSI', 'text\x9b2J', 'text'],
    ['an 8-bit OSC', 'a\x9d52;c;AAAA\x9cb', 'ab'],
    ['C1 controls', 'a\x85b\x8dc', 'abc'],
    ['a lone carriage return that would overwrite the line', 'secret\rpublic', 'secretpublic'],
    ['backspaces that would erase earlier text', 'rm -rf /\b\b\b\b\b\b\b\bls', 'rm -rf /ls'],
    ['NUL, BEL, DEL, vertical tab, form feed', 'a\x00b\x07c\x7fd\x0be\x0cf', 'abcdef'],
    ['a lone ESC at the end', 'text\x1b', 'text'],
    ['concealed text (SGR 8)', '\x1b[8msecret\x1b[0m', 'secret\x1b[0m'],
  ])('drops %s', (_what, input, output) => {
    expect(terminalSafe(input, colour)).toBe(output);
  });

  it('keeps the lines of a multi-line message, each one\'s text as it is', () => {
    expect(terminalSafe('Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad', colour)).toBe('Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad');
    expect(terminalSafe('one\r\ntwo\x1b[2K\nthree', pipe)).toBe('one\ntwo\nthree');
  });

  it('keeps tabs, colours, 256 and true colours, and text in any script', () => {
    const text = 'a\tb \x1b[1;31mred\x1b[0m \x1b[38;5;8mgrey\x1b[39m \x1b[38;2;8;8;8mdark\x1b[m 日本 🙂';
    expect(terminalSafe(text, colour)).toBe(text);
    expect(terminalSafe(text, pipe)).toBe('a\tb red grey dark 日本 🙂');
  });

  it('shows bidi controls as their code points, on a terminal and into a pipe, and leaves them for a file', () => {
    expect(terminalSafe('user\u202egpj.exe \u2066x\u2069', colour)).toBe('user<U+202E>gpj.exe <U+2066>x<U+2069>');
    expect(terminalSafe('a\u202db', pipe)).toBe('a<U+202D>b');
    expect(terminalSafe('\x1b[2Ja\u202eb', { colour: false, keepBidi: true })).toBe('a\u202eb');
  });

  it('writes --json with C1 and bidi controls escaped, parsing to the same value', () => {
    const value = { message: 'a\u009b2J\u0085b\u202ec\u2028d\x1b[31m', n: 1 };
    const line = terminalJson(value);
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u202a-\u202e]/);
    expect(JSON.parse(line)).toEqual(value);
  });
});
