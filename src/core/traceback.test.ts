import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { TracebackGrouper, type TracebackMark } from './traceback.js';

/** Marks each line with seq 1, 2, 3 … and returns [line, mark] pairs. */
function markAll(text: string): [string, TracebackMark | undefined][] {
  const grouper = new TracebackGrouper();
  return text.split('\n').map((line, i) => [line, grouper.mark(line, i + 1)]);
}

/** A compact view: `group` or `group!` (final) or `-` per line. */
function view(text: string): string[] {
  return markAll(text).map(([, m]) => (m === undefined ? '-' : `${m.group}${m.final ? '!' : ''}`));
}

const PLAIN = `starting
Traceback (most recent call last):
  File "train.py", line 3, in <module>
    main()
  File "train.py", line 2, in main
    x = 1 / 0
        ~~^~~
ZeroDivisionError: division by zero
done`;

describe('TracebackGrouper', () => {
  it('groups a plain traceback under the seq of its first line and marks the exception line final', () => {
    expect(view(PLAIN)).toEqual(['-', '2', '2', '2', '2', '2', '2', '2!', '-']);
  });

  it('ends the block at the exception line: normal output after it is not grouped', () => {
    const text = `Traceback (most recent call last):
  File "x.py", line 1, in <module>
KeyError: 'lr'

epoch 1 loss 0.5
  indented output`;
    expect(view(text)).toEqual(['1', '1', '1!', '1', '-', '-']); // the blank after the end is held in the group: a chain may follow
  });

  it('marks a module-qualified exception and a bare exception name as final', () => {
    const oom = `Traceback (most recent call last):
  File "train.py", line 9, in step
torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB`;
    expect(view(oom)).toEqual(['1', '1', '1!']);
    const interrupt = `Traceback (most recent call last):
  File "train.py", line 9, in step
KeyboardInterrupt`;
    expect(view(interrupt)).toEqual(['1', '1', '1!']);
  });

  it('keeps a chained traceback ("During handling…") in the group of the first', () => {
    const text = `Traceback (most recent call last):
  File "a.py", line 2, in f
    1 / 0
ZeroDivisionError: division by zero

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "a.py", line 4, in f
    raise ValueError("NOK")
ValueError: NOK
after`;
    expect(view(text)).toEqual(['1', '1', '1', '1!', '1', '1', '1', '1', '1', '1', '1!', '-']);
  });

  it('keeps a chained traceback ("The above exception was the direct cause…") in the same group', () => {
    const text = `Traceback (most recent call last):
  File "a.py", line 2, in f
OSError: disk

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "a.py", line 4, in f
RuntimeError: save failed`;
    expect(view(text)).toEqual(['1', '1', '1!', '1', '1', '1', '1', '1', '1!']);
  });

  it('does not chain a traceback that follows without a chain sentence', () => {
    const text = `Traceback (most recent call last):
  File "a.py", line 2, in f
OSError: one

Traceback (most recent call last):
  File "a.py", line 2, in f
OSError: two`;
    expect(view(text)).toEqual(['1', '1', '1!', '1', '5', '5', '5!']);
  });

  it('groups an exception group box and marks the group exception line final', () => {
    const text = `  + Exception Group Traceback (most recent call last):
  |   File "eg.py", line 1, in <module>
  |     raise ExceptionGroup("eg", [ValueError(1), TypeError(2)])
  | ExceptionGroup: eg (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | ValueError: 1
    +---------------- 2 ----------------
    | Traceback (most recent call last):
    |   File "eg.py", line 3, in g
    | TypeError: 2
    +------------------------------------
next line`;
    expect(view(text)).toEqual(['1', '1', '1', '1!', '1', '1', '1', '1', '1', '1', '1', '-']);
  });

  it('accepts an unboxed "Exception Group Traceback" header', () => {
    const text = `Exception Group Traceback (most recent call last):
  File "eg.py", line 1, in <module>
ExceptionGroup: eg (1 sub-exception)`;
    expect(view(text)).toEqual(['1', '1', '1!']);
  });

  it('groups a SyntaxError report, which has no Traceback header', () => {
    const text = `  File "/tmp/x.py", line 1
    def f(:
          ^
SyntaxError: invalid syntax`;
    expect(view(text)).toEqual(['1', '1', '1', '1!']);
  });

  it('groups a SyntaxError raised by exec inside a traceback', () => {
    const text = `Traceback (most recent call last):
  File "run.py", line 17, in <module>
    exec(code)
  File "<string>", line 4
    b = 7 *
           ^
SyntaxError: invalid syntax`;
    expect(view(text)).toEqual(['1', '1', '1', '1', '1', '1', '1!']);
  });

  it('sees through ANSI colour codes around the header and the exception line', () => {
    const text = `\x1b[33m\x1b[1mTraceback (most recent call last):\x1b[0m
  File "\x1b[32mx.py\x1b[0m", line \x1b[33m3\x1b[0m, in \x1b[35mf\x1b[0m
\x1b[31m\x1b[1mValueError\x1b[0m:\x1b[1m bad value\x1b[0m`;
    expect(view(text)).toEqual(['1', '1', '1!']);
  });

  it('tolerates CRLF line endings', () => {
    expect(view(PLAIN.replaceAll('\n', '\r\n'))).toEqual(view(PLAIN));
  });

  it('handles only the first line of a multi-line exception message', () => {
    const text = `Traceback (most recent call last):
  File "m.py", line 1, in <module>
pydantic_core._pydantic_core.ValidationError: 1 validation error for Config
lr
  Input should be a valid number`;
    expect(view(text)).toEqual(['1', '1', '1!', '-', '-']);
  });

  it('ends a block without a final line at a non-indented line that is not an exception', () => {
    const text = `Traceback (most recent call last):
  File "x.py", line 1, in <module>
this is ordinary output
  still ordinary

During handling of the above exception, another exception occurred:`;
    expect(view(text)).toEqual(['1', '1', '-', '-', '-', '-']);
  });

  it('does not chain after more than two blank lines', () => {
    const text = `Traceback (most recent call last):
  File "x.py", line 1, in <module>
ValueError: x



During handling of the above exception, another exception occurred:`;
    expect(view(text)).toEqual(['1', '1', '1!', '1', '1', '-', '-']);
  });

  it('caps a block that never ends', () => {
    const grouper = new TracebackGrouper();
    expect(grouper.mark('Traceback (most recent call last):', 1)).toEqual({ group: 1, final: false });
    let grouped = 1;
    for (let seq = 2; seq < 5000; seq++) if (grouper.mark('    more indented output', seq) !== undefined) grouped++;
    expect(grouped).toBe(2000);
    expect(grouper.mark('ValueError: late', 5000)).toBeUndefined();
  });
});

// ── real tracebacks ──────────────────────────────────────────────────────────────────────────────

const TRACEBACKS = corpusDir('tracebacks', 'traceback.test') ?? '';
const corpusPresent = TRACEBACKS !== '';

function corpusFile(name: string): [string, TracebackMark | undefined][] {
  return markAll(readFileSync(path.join(TRACEBACKS, name), 'utf8').replace(/\r$/gm, ''));
}

describe.skipIf(!corpusPresent)('TracebackGrouper on real tracebacks', () => {
  const files = corpusPresent ? readdirSync(TRACEBACKS).sort() : [];

  it.each(files)('groups every Traceback header and finds a final exception line in %s', (name) => {
    const marks = corpusFile(name);
    const headers = marks.filter(([line]) => stripVTControlCharacters(line).includes('Traceback (most recent call last):'));
    expect(headers.length).toBeGreaterThan(0);
    for (const [line, mark] of headers) expect(mark, line).toBeDefined();
    const finals = marks.filter(([, mark]) => mark?.final).map(([line]) => stripVTControlCharacters(line));
    expect(finals.length).toBeGreaterThan(0);
    // a final line is an exception line, possibly inside an exception group box
    for (const line of finals) expect(line).toMatch(/^(?: *\| )?[A-Za-z_][\w.]*(?::|$)/);
  });

  it('keeps the three chained pairs of chained_expression_direct in three groups of two finals', () => {
    const marks = corpusFile('loguru_backtrace_chained_expression_direct.txt');
    const finals = marks.filter(([, m]) => m?.final);
    expect(finals.map(([line]) => line)).toEqual([
      'ZeroDivisionError: division by zero',
      'ValueError: NOK',
      'ZeroDivisionError: division by zero',
      'ValueError: NOK',
      'ZeroDivisionError: division by zero',
      'ValueError: NOK',
    ]);
    expect(new Set(finals.map(([, m]) => m?.group)).size).toBe(3);
  });

  it('keeps a coloured loguru chain with blank lines between frames in one group', () => {
    const marks = corpusFile('loguru_diagnose_chained_both.ansi.txt');
    const groups = new Set(marks.map(([, m]) => m?.group).filter((g) => g !== undefined));
    expect(groups.size).toBe(1);
    const finals = marks.filter(([, m]) => m?.final).map(([line]) => stripVTControlCharacters(line));
    expect(finals).toEqual(['ZeroDivisionError: division by zero', 'ValueError: Division error', 'ValueError: Cause error']);
  });

  it('chains the plain tracebacks into the exception group that follows them', () => {
    const marks = corpusFile('loguru_modern_grouped_with_cause_and_context.txt');
    const first = marks.findIndex(([line]) => line === 'Traceback (most recent call last):');
    const box = marks.findIndex(([line]) => line.startsWith('  + Exception Group Traceback'));
    expect(marks[box]?.[1]?.group).toBe(first + 1);
    const groupLine = marks.find(([line]) => line.startsWith('  | ExceptionGroup: from_context'));
    expect(groupLine?.[1]).toEqual({ group: first + 1, final: true });
  });

  it('finds the IndentationError and SyntaxError that better-exceptions prints after an unindented frame', () => {
    const finals = corpusFile('better_exceptions_python3-xterm-UTF-8-color.out')
      .filter(([, m]) => m?.final)
      .map(([line]) => stripVTControlCharacters(line));
    expect(finals.slice(-2)).toEqual(['IndentationError: unexpected indent', 'SyntaxError: invalid syntax']);
  });

  it('finds the SyntaxError of a coloured exec traceback', () => {
    const finals = corpusFile('loguru_diagnose_syntax_error.ansi.txt')
      .filter(([, m]) => m?.final)
      .map(([line]) => stripVTControlCharacters(line));
    expect(finals).toEqual(['SyntaxError: invalid syntax']);
  });
});

describe('TracebackGrouper: tracebacks behind a launcher prefix', () => {
  it("groups torchrun 2.x's `[rankN]: ` tracebacks per rank while the ranks' lines interleave", () => {
    const text = `[rank1]: Traceback (most recent call last):
[rank0]: Traceback (most recent call last):
[rank1]:   File "/w/train.py", line 10, in <module>
[rank0]:   File "/w/train.py", line 12, in <module>
step 40 loss 0.1
[rank1]:     x["lr"]
[rank0]:     dist.barrier()
[rank1]: KeyError: 'lr'
[rank0]: RuntimeError: Connection closed by peer
[rank0]: after`;
    const marks = markAll(text);
    expect(marks.map(([, m]) => (m === undefined ? '-' : `${m.group}${m.final ? '!' : ''}`))).toEqual(['1', '2', '1', '2', '-', '1', '2', '1!', '2!', '-']);
    expect(marks[7]?.[1]?.prefix).toBe('[rank1]:');
    expect(marks[8]?.[1]?.prefix).toBe('[rank0]:');
  });

  it("groups torchrun's older `[default1]:` tee prefix (no space after it), mpirun's, Ray's, srun's and pdsh's", () => {
    for (const prefix of ['[default1]:', '[1,0]<stderr>:', '(RayTrainWorker pid=4242, ip=10.0.0.5) ', '3: ', 'gpu-node-2.cluster: ']) {
      const text = [`${prefix}Traceback (most recent call last):`, `${prefix}  File "t.py", line 1, in <module>`, `${prefix}ValueError: bad`, `${prefix}next`].join('\n');
      expect(view(text), prefix).toEqual(['1', '1', '1!', '-']);
    }
  });

  it('leaves lines with a prefix and no traceback behind it to the plain block, as before', () => {
    const text = `Traceback (most recent call last):
  File "t.py", line 1, in <module>
[rank0]: still running
ValueError: late`;
    // the prefixed line is unindented output: it ends the plain block (the line after is not in it)
    expect(view(text)).toEqual(['1', '1', '-', '-']);
    expect(view('[INFO]: Traceback (most recent call last):')).toEqual(['-']);
  });

  it('follows at most a bounded number of prefixes at once (a launcher with thousands of processes)', () => {
    const grouper = new TracebackGrouper();
    for (let rank = 0; rank < 1000; rank++) grouper.mark(`[rank${rank}]: Traceback (most recent call last):`, rank + 1);
    // the newest are still followed; memory stays bounded (the oldest were let go)
    expect(grouper.mark('[rank999]: ValueError: x', 1001)).toEqual({ group: 1000, final: true, prefix: '[rank999]:' });
    expect(grouper.mark('[rank0]: ValueError: x', 1002)).toBeUndefined();
  });
});

describe('TracebackGrouper: property', () => {
  it("a rank's traceback is marked as it would be alone, whatever other ranks' and plain lines come between its lines", () => {
    const tracebackLines = PLAIN.split('\n').slice(1, 8); // from `Traceback …` to `ZeroDivisionError: …`
    const alone = view(tracebackLines.join('\n')).map((mark) => mark.replace(/^\d+/, 'g'));
    const other = fc.oneof(
      fc.constantFrom('[rank0]: Traceback (most recent call last):', '[rank0]:   File "a.py", line 1, in f', '[rank0]: ValueError: x', 'plain output', '  indented', ''),
      fc.string({ maxLength: 20 }).filter((line) => !line.startsWith('[rank1]')),
    );
    fc.assert(
      fc.property(fc.array(fc.array(other, { maxLength: 3 }), { minLength: tracebackLines.length, maxLength: tracebackLines.length }), (between) => {
        const grouper = new TracebackGrouper();
        let seq = 0;
        const marks: string[] = [];
        tracebackLines.forEach((line, i) => {
          for (const noise of between[i]!) grouper.mark(noise, ++seq);
          const mark = grouper.mark(`[rank1]: ${line}`, ++seq);
          marks.push(mark === undefined ? '-' : `g${mark.final ? '!' : ''}`);
          if (mark !== undefined) expect(mark.prefix).toBe('[rank1]:');
        });
        expect(marks).toEqual(alone);
      }),
    );
  });
});

describe("TracebackGrouper: srun's and Ray's prefixes end in a space", () => {
  it("keeps srun's blank `0: ` line and a chain behind it in the block", () => {
    const text = ['0: Traceback (most recent call last):', '0:   File "a.py", line 1, in <module>', '0: ValueError: bad', '0: ', '0: During handling of the above exception, another exception occurred:', '0: ', '0: Traceback (most recent call last):', '0:   File "a.py", line 3, in <module>', '0: KeyError: 1'].join('\n');
    expect(view(text)).toEqual(['1', '1', '1!', '1', '1', '1', '1', '1', '1!']);
  });
});
