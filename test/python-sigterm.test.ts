/**
 * The Python client and SIGTERM (`kill`, `docker stop`), which skips atexit: what is queued still
 * arrives, open runs end failed "killed by SIGTERM", a Worker sends its last heartbeat, and the
 * process still dies of SIGTERM; a program's own handler is left alone (clients/python/runlog/_signals.py).
 */
import { describe, expect, it } from 'vitest';
import { ended, newHub, noPython, pythonCode, range, runLines, workerLines } from './python-harness.js';

describe.skipIf(noPython !== undefined)('the Python client on SIGTERM: runlog.Handler', () => {
  it('stopped by SIGTERM (docker stop, kill): every line it logged arrives, the run fails "killed by SIGTERM", and it still dies of SIGTERM', async () => {
    const hub = await newHub();
    // 2000 lines in a few ms, then SIGTERM at once: they were all still queued, the run not yet made
    const code = [
      'import logging, sys, time, runlog',
      'logging.getLogger().setLevel(logging.INFO)',
      'handler = runlog.Handler()',
      'logging.getLogger().addHandler(handler)',
      'for i in range(1, 2001): logging.info("term %d", i)',
      'print(handler.run_id, flush=True)',
      'time.sleep(30)',
    ];
    const program = pythonCode(code, { RUNLOG_HUB: hub.url });
    const [runId] = await program.lines(1);
    program.child.kill('SIGTERM');
    expect((await program.done).signal).toBe('SIGTERM');
    const end = await ended(hub.url, runId!);
    expect([end.status, end.error_message, end.signal, end.exit_code]).toEqual(['failed', 'killed by SIGTERM', 'SIGTERM', null]);
    expect((await runLines(hub.url, runId!)).map((l) => [l.seq, l.message])).toEqual(range(1, 2000).map((n) => [n, `term ${n}`]));
  });

  it('stopped by SIGTERM while its runs were being registered (a lock of the client held) still ends the run and dies of SIGTERM, not hangs', async () => {
    const hub = await newHub();
    // the handler runs on the main thread between two bytecodes: here, inside the registry's lock
    // (as when SIGTERM lands while a Handler or a runlog.run block is being set up)
    const code = [
      'import logging, os, signal, time, runlog',
      'from runlog import handler as registry',
      'logging.getLogger().setLevel(logging.INFO)',
      'handler = runlog.Handler()',
      'logging.getLogger().addHandler(handler)',
      'logging.info("before")',
      'print(handler.run_id, flush=True)',
      'with registry._exit_lock, registry._blocks_lock:',
      '    os.kill(os.getpid(), signal.SIGTERM)',
      '    time.sleep(0.2)',
      'time.sleep(30)',
    ];
    const program = pythonCode(code, { RUNLOG_HUB: hub.url });
    const [runId] = await program.lines(1);
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref());
    const outcome = await Promise.race([program.done, hung]);
    if (outcome === 'hung') program.child.kill('SIGKILL');
    expect(outcome === 'hung' ? 'hung' : outcome.signal).toBe('SIGTERM');
    const end = await ended(hub.url, runId!);
    expect([end.status, end.signal]).toEqual(['failed', 'SIGTERM']);
    expect((await runLines(hub.url, runId!)).map((l) => l.message)).toEqual(['before']);
  });

  it('leaves a SIGTERM handler of the program its own: the program decides, and atexit ends the run as usual', async () => {
    const hub = await newHub();
    const code = [
      'import logging, signal, sys, time, runlog',
      'signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))',
      'logging.getLogger().setLevel(logging.INFO)',
      'handler = runlog.Handler()',
      'logging.getLogger().addHandler(handler)',
      'logging.info("before")',
      'print(handler.run_id, flush=True)',
      'time.sleep(30)',
    ];
    const program = pythonCode(code, { RUNLOG_HUB: hub.url });
    const [runId] = await program.lines(1);
    program.child.kill('SIGTERM');
    expect((await program.done).code).toBe(0);
    expect((await ended(hub.url, runId!)).status).toBe('completed');
    expect((await runLines(hub.url, runId!)).map((l) => l.message)).toEqual(['before']);
  });
});

describe.skipIf(noPython !== undefined)('the Python client on SIGTERM: runlog.Worker', () => {
  it('stopped by SIGTERM in the middle of a log call (its buffer locked) still sends its last heartbeat with the line, and dies of SIGTERM', async () => {
    const hub = await newHub();
    // the SIGTERM handler runs on the main thread between two bytecodes: here, inside the buffer's
    // lock, as in any log call; the last heartbeat (another thread) needs that lock
    const code = [
      'import logging, os, signal, time, runlog',
      'w = runlog.Worker("py-term", heartbeat_interval=60, stop_timeout=20).start()',
      'log = logging.getLogger("job"); log.setLevel(logging.INFO); log.addHandler(w.handler)',
      'log.info("queued before SIGTERM")',
      'print("ready", flush=True)',
      'with w.buffer._lock:',
      '    os.kill(os.getpid(), signal.SIGTERM)',
      '    time.sleep(0.2)',
      'time.sleep(60)',
    ];
    const program = pythonCode(code, { RUNLOG_HUB: hub.url });
    await program.lines(1);
    const started = Date.now();
    expect((await program.done).signal).toBe('SIGTERM');
    expect(Date.now() - started).toBeLessThan(10_000); // not after stop_timeout, its heartbeat given up
    expect((await workerLines(hub.url, 'py-term')).map((line) => line.message)).toContain('queued before SIGTERM');
  });
});
