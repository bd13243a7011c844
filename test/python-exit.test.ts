/**
 * The Python client and sys.exit(): a program with a runlog.Handler that ends by sys.exit(n) ends
 * its run as the process ends, as a runlog.run block already did: 0 (or None) completed, another
 * number failed with that exit code, a message failed with exit code 1. A sys.exit() the program
 * caught (it went on and ended normally), or one in another thread, changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { ended, newHub, noPython, pythonCode } from './python-harness.js';

/** a program with a Handler on the root logger whose main part is `body` */
function program(hub: string, body: string[]) {
  const code = [
    'import logging, sys, threading, runlog',
    'logging.getLogger().setLevel(logging.INFO)',
    'handler = runlog.Handler()',
    'logging.getLogger().addHandler(handler)',
    'print(handler.run_id, flush=True)',
    'logging.info("working")',
    ...body,
  ];
  return pythonCode(code, { RUNLOG_HUB: hub });
}

async function outcome(hub: string, body: string[]) {
  const running = program(hub, body);
  const [runId] = await running.lines(1);
  const result = await running.done;
  const run = await ended(hub, runId!);
  return { code: result.code, status: run.status, exit_code: run.exit_code, error_message: run.error_message };
}

describe.skipIf(noPython !== undefined)('the Python client: a program that ends by sys.exit()', () => {
  it('sys.exit(3) at the top level: the run fails with exit code 3, and the process still exits 3', async () => {
    const hub = await newHub();
    expect(await outcome(hub.url, ['sys.exit(3)'])).toEqual({ code: 3, status: 'failed', exit_code: 3, error_message: 'exit code 3' });
  });

  it('sys.exit(4) inside a function the program called: failed, exit code 4', async () => {
    const hub = await newHub();
    const body = ['def main():', '    logging.info("in main")', '    sys.exit(4)', 'main()'];
    expect(await outcome(hub.url, body)).toEqual({ code: 4, status: 'failed', exit_code: 4, error_message: 'exit code 4' });
  });

  it('sys.exit("message"): failed with the message, exit code 1', async () => {
    const hub = await newHub();
    expect(await outcome(hub.url, ['sys.exit("config not found")'])).toEqual({
      code: 1,
      status: 'failed',
      exit_code: 1,
      error_message: 'config not found',
    });
  });

  it('the builtins exit(6) and quit("bye") end it as sys.exit does; exit(0): completed', async () => {
    const hub = await newHub();
    expect(await outcome(hub.url, ['exit(6)'])).toEqual({ code: 6, status: 'failed', exit_code: 6, error_message: 'exit code 6' });
    expect(await outcome(hub.url, ['quit("bye")'])).toEqual({ code: 1, status: 'failed', exit_code: 1, error_message: 'bye' });
    expect(await outcome(hub.url, ['exit(0)'])).toEqual({ code: 0, status: 'completed', exit_code: null, error_message: null });
  }, 60_000);

  it('sys.exit(0), sys.exit() and a normal end: completed', async () => {
    const hub = await newHub();
    for (const body of [['sys.exit(0)'], ['sys.exit()'], ['sys.exit(None)'], ['logging.info("done")']]) {
      expect(await outcome(hub.url, body)).toEqual({ code: 0, status: 'completed', exit_code: null, error_message: null });
    }
  });

  it('a sys.exit(5) the program caught, then a normal end; a sys.exit(9) in a thread: completed', async () => {
    const hub = await newHub();
    const caughtAtTop = ['try:', '    sys.exit(5)', 'except SystemExit:', '    logging.info("went on")'];
    const caughtInside = ['def probe():', '    try:', '        sys.exit(5)', '    except SystemExit:', '        pass', 'probe()'];
    const thread = ['t = threading.Thread(target=lambda: sys.exit(9))', 't.start()', 't.join()'];
    for (const body of [caughtAtTop, caughtInside, thread]) {
      expect(await outcome(hub.url, body)).toEqual({ code: 0, status: 'completed', exit_code: null, error_message: null });
    }
  });

  it('an uncaught exception after a caught sys.exit(5): failed with the exception, as before', async () => {
    const hub = await newHub();
    const body = ['try:', '    sys.exit(5)', 'except SystemExit:', '    pass', 'raise ValueError("bad input")'];
    expect(await outcome(hub.url, body)).toEqual({ code: 1, status: 'failed', exit_code: null, error_message: 'ValueError: bad input' });
  });
});
