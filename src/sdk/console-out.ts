/**
 * The console stream a logger writes its lines to, and what happens when it breaks.
 *
 * A stream that errors (EPIPE when the reader of stderr went away) emits 'error', and an 'error'
 * with no listener ends the process. A logging call must never do that, so the first logger that
 * writes to a stream adds one listener to it (one per stream, however many loggers share it):
 * the stream is marked broken and later lines are counted as dropped instead of written. This
 * applies to process.stderr, the default, too: its errors no longer crash the program.
 */

export interface ConsoleOut {
  readonly stream: NodeJS.WritableStream;
  broken: boolean;
}

const outs = new WeakMap<NodeJS.WritableStream, ConsoleOut>();

export function consoleOut(stream: NodeJS.WritableStream | undefined): ConsoleOut | undefined {
  if (stream === undefined) return undefined;
  let out = outs.get(stream);
  if (out === undefined) {
    const created: ConsoleOut = { stream, broken: false };
    if (typeof stream.on === 'function') {
      stream.on('error', () => {
        created.broken = true;
      });
    }
    outs.set(stream, created);
    out = created;
  }
  return out;
}

/** Writes one line, or counts it in `drops.console` when the stream cannot take it. */
export function writeLine(out: ConsoleOut, line: string, drops: { console: number }): void {
  // `writable` is false once a stream is ended, destroyed or errored: writing then would only
  // make it emit another error. A plain `{ write() }` object has no such field and is written.
  if (out.broken || out.stream.writable === false) {
    drops.console++;
    return;
  }
  try {
    out.stream.write(line);
  } catch {
    drops.console++;
  }
}
