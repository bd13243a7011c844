/**
 * TracebackGrouper: marks the lines of a Python traceback as one block, one line at a time, as
 * they stream in (one grouper per source stream, since stdout and stderr interleave).
 *
 * A block opens at `Traceback (most recent call last):` (or `  + Exception Group Traceback …`, or
 * the `  File "x.py", line 1` that a SyntaxError prints without a header) and goes on over
 * indented and blank lines. The first non-indented line ends it: an exception line
 * (`ValueError: bad value`) is its final line; anything else is not part of it. A chain sentence
 * (`During handling of the above exception…`) just after the end reopens the same group for the
 * next traceback; the (at most two) blank lines before it are in the group as they come, since a
 * chain may follow them. The group id is the seq of the line that opened the first block.
 *
 * Launchers that run several processes print each one's lines with a prefix: torchrun's
 * `[rank1]: ` (torch 2.x) or `[default1]:` (its --tee before 2.x), mpirun --tag-output's
 * `[1,0]<stderr>:`, Ray's `(Worker pid=123) `, srun --label's `1: `, pdsh's `host-1: ` (DeepSpeed
 * across machines). Their tracebacks interleave
 * with the other processes' lines, so a traceback that opens behind a prefix is followed by a
 * block of its own, fed only the lines with that prefix (the prefix taken off). A mark from such a
 * block names its prefix: the error cause says which process failed.
 */
import { stripVTControlCharacters } from 'node:util';

export interface TracebackMark {
  group: number;
  final: boolean;
  /** the launcher's prefix on this block's lines (`[rank1]:`), when it opened behind one */
  prefix?: string;
}

/** A block that never ends (a process printing indented lines forever) stops being one here. */
const MAX_BLOCK_LINES = 2000;
/** Blank lines allowed between a block's end and a chain sentence, and between it and the next block. */
const MAX_CHAIN_BLANKS = 2;

/** `Traceback (most recent call last):`; `  + Exception Group Traceback …` captures its indent. */
const OPENER = /^(?:( *)\+ )?(?:Exception Group )?Traceback \(most recent call last\):$/;
/** The frame a SyntaxError prints for the file that does not compile: no `, in <function>`. */
const SYNTAX_FRAME = /^ {2}File "[^"]*", line \d+$/;
/** A frame line that decorators print unindented: `> File "x.py", line 3, in f`, `File "<string>", line 4` */
const FRAME = /^(?:> )?File "/;
const CHAIN =
  /^(?:During handling of the above exception, another exception occurred|The above exception was the direct cause of the following exception):$/;
/**
 * The final line: `ValueError: bad`, `torch.cuda.OutOfMemoryError: CUDA out of memory…`, or a
 * bare class name when the exception has no message (`KeyboardInterrupt`, `pkg.Boom`).
 */
const EXCEPTION = /^[A-Za-z_][\w.]*(?::(?: .*)?|(?:Error|Exception|Interrupt|Exit|Iteration|Warning)|\.[A-Za-z_]\w*)$/;
/** The closing border of an exception group box: `    +------------------------------------` */
const GROUP_BORDER = /^ *\+-+$/;
/**
 * A launcher's per-process prefix (see the header), at the very start of the line: torchrun,
 * mpirun --tag-output, Ray, srun --label. Lines with one go to the block behind it, if any.
 */
const LAUNCHER_PREFIX = /^(?:\[[A-Za-z_-]{0,32}\d{1,6}\]:|\[\d{1,6},\d{1,6}\]<std(?:out|err)>:|\([\w.-]{1,64} pid=\d{1,10}(?:, ip=[\w.:-]{1,64})?\) |\d{1,6}: |[A-Za-z][\w.-]{0,63}: )/;
/** Blocks behind prefixes followed at once (a launcher of more processes: the oldest go first). */
const MAX_PREFIXED_BLOCKS = 256;

/**
 * Routes each line to the block it belongs to: the block behind its launcher prefix when one is
 * followed (or the line opens one), else the plain block of the stream.
 */
export class TracebackGrouper {
  private readonly unprefixed = new BlockGrouper();
  private readonly prefixed = new Map<string, BlockGrouper>();

  /**
   * `seq` is this line's seq: a line that opens a block uses it as the block's group id. Returns the
   * block this line belongs to, or undefined. `final` is true for the final exception line.
   */
  mark(text: string, seq: number): TracebackMark | undefined {
    const plain = text.includes('\x1b') ? stripVTControlCharacters(text) : text;
    // matched before trailing blanks go: srun's blank line is `0: `, Ray's prefix ends in a space;
    // looked for only while a prefixed block is followed or the line may open one (most lines: neither)
    const prefix = this.prefixed.size > 0 || plain.includes('Traceback (') ? LAUNCHER_PREFIX.exec(plain)?.[0] : undefined;
    if (prefix !== undefined) {
      const key = prefix.trimEnd();
      // torch 2.x puts a space after its prefix: `[rank1]:   File …` is a frame indented by two
      const rest = (plain.startsWith(' ', key.length) ? plain.slice(key.length + 1) : plain.slice(key.length)).trimEnd();
      const block = this.prefixed.get(key) ?? (OPENER.test(rest) ? this.follow(key) : undefined);
      if (block !== undefined) {
        const mark = block.mark(rest, seq);
        if (block.idle) this.prefixed.delete(key);
        return mark === undefined ? undefined : { ...mark, prefix: key };
      }
    }
    return this.unprefixed.mark(plain.trimEnd(), seq);
  }

  private follow(key: string): BlockGrouper {
    if (this.prefixed.size >= MAX_PREFIXED_BLOCKS) this.prefixed.delete(this.prefixed.keys().next().value as string);
    const block = new BlockGrouper();
    this.prefixed.set(key, block);
    return block;
  }
}

type State = 'idle' | 'open' | 'ended';

/** One stream's (or one launcher prefix's) traceback blocks: the state machine of the header. */
class BlockGrouper {
  private state: State = 'idle';
  private group = 0;
  private lines = 0;
  /** indent of the `+` of an exception group box, or -1 for a plain traceback */
  private boxIndent = -1;
  private sawFinal = false;
  /** a chain sentence was seen after the end: the next traceback continues this group */
  private chained = false;
  private blanks = 0;

  get idle(): boolean {
    return this.state === 'idle';
  }

  /** `line`: without colours and trailing blanks. */
  mark(line: string, seq: number): TracebackMark | undefined {
    if (this.state === 'open') {
      const mark = this.continueBlock(line);
      if (mark !== undefined) return mark;
    }
    const opener = OPENER.exec(line);
    if (opener !== null || SYNTAX_FRAME.test(line)) {
      return this.open(seq, opener?.[1]?.length ?? -1);
    }
    if (this.state === 'ended') return this.afterEnd(line);
    return undefined;
  }

  private open(seq: number, boxIndent: number): TracebackMark {
    if (!(this.state === 'ended' && this.chained)) this.group = seq;
    this.state = 'open';
    this.lines = 1;
    this.boxIndent = boxIndent;
    this.sawFinal = false;
    this.chained = false;
    return { group: this.group, final: false };
  }

  /** A line while a block is open: its mark, or undefined when the line ends the block. */
  private continueBlock(line: string): TracebackMark | undefined {
    if (++this.lines > MAX_BLOCK_LINES) return this.end(false);
    // loguru prints blank lines between frames and marks the failing one with `> File`;
    // better-exceptions prints a SyntaxError's frame unindented
    if (line === '' || FRAME.test(line) || line === '...') return this.inside(false);
    if (line.startsWith(' ') || line.startsWith('\t')) return this.boxed(line);
    if (this.boxIndent < 0 && EXCEPTION.test(line)) {
      this.sawFinal = true;
      this.end(true);
      return { group: this.group, final: true };
    }
    return this.end(this.sawFinal);
  }

  /** An indented line: inside an exception group box, watch for its exception line and its end. */
  private boxed(line: string): TracebackMark {
    const indent = this.boxIndent;
    if (indent < 0) return this.inside(false);
    if (GROUP_BORDER.test(line) && line.indexOf('+') === indent + 2) {
      this.end(this.sawFinal);
      return { group: this.group, final: false };
    }
    // `  | ExceptionGroup: msg (2 sub-exceptions)`: the group's own exception line, in its box
    const final = !this.sawFinal && line.startsWith('| ', indent) && EXCEPTION.test(line.slice(indent + 2));
    if (final) this.sawFinal = true;
    return this.inside(final);
  }

  private inside(final: boolean): TracebackMark {
    return { group: this.group, final };
  }

  /** Ends the open block; a block that reached its exception line can still be chained. */
  private end(canChain: boolean): undefined {
    this.state = canChain ? 'ended' : 'idle';
    this.blanks = 0;
    this.chained = false;
    return undefined;
  }

  /** A line shortly after a block's end: a chain sentence and the blank lines around it. */
  private afterEnd(line: string): TracebackMark | undefined {
    if (line === '') {
      if (++this.blanks > MAX_CHAIN_BLANKS) this.state = 'idle';
      // in the group while a chain may still follow: marks cannot be taken back once a line is
      // out, and a chained traceback cut in two by its blank line reads as two
      return this.state === 'ended' ? this.inside(false) : undefined;
    }
    if (!this.chained && CHAIN.test(line)) {
      this.chained = true;
      this.blanks = 0;
      return this.inside(false);
    }
    this.state = 'idle';
    return undefined;
  }
}
