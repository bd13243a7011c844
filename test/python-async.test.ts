/**
 * runlog.run on an `async def`: each call (awaited) is a run of its own, ended with the
 * coroutine's outcome. The decorator used to end the run as soon as the call returned its
 * coroutine, before any of it ran: `completed`, no lines, and the exception it raised later lost.
 */
import { describe, expect, it } from 'vitest';
import type { Run } from '../src/store/store.js';
import { getJson } from './helpers.js';
import { ended, newHub, noPython, pythonCode, runLines } from './python-harness.js';

describe.skipIf(noPython !== undefined)('the Python client: runlog.run on a coroutine function', () => {
  it('makes each awaited call a run with the coroutine’s lines, failed with its exception (which still goes up), or completed; `async with` is a block', async () => {
    const hub = await newHub();
    const program = pythonCode(
      [
        'import asyncio, logging, runlog',
        'logging.getLogger().setLevel(logging.INFO)',
        '@runlog.run("async-job")',
        'async def job(fail):',
        '    logging.info("before the await")',
        '    await asyncio.sleep(0.05)',
        '    logging.info("after the await")',
        '    if fail: raise RuntimeError("async boom")',
        '    return 42',
        'print(asyncio.run(job(False)), flush=True)',
        'try:',
        '    asyncio.run(job(True))',
        'except RuntimeError as error:',
        '    print("caught", error, flush=True)',
        'async def block():',
        '    async with runlog.run("async-block") as r:',
        '        logging.info("in async with")',
        '        return r.run_id',
        'print(asyncio.run(block()), flush=True)',
      ],
      { RUNLOG_HUB: hub.url },
    );
    const result = await program.done;
    const [answer, caught, blockId] = result.stdout.trimEnd().split('\n');
    expect([result.code, answer, caught]).toEqual([0, '42', 'caught async boom']);
    expect(await ended(hub.url, blockId!)).toMatchObject({ status: 'completed', name: 'async-block' });
    expect((await runLines(hub.url, blockId!)).map((l) => l.message)).toEqual(['in async with']);
    const runs = (await getJson<{ runs: Run[] }>(`${hub.url}/api/runs?q=async-job`)).body.runs;
    expect(runs).toHaveLength(2);
    const byStatus = Object.fromEntries(await Promise.all(runs.map(async (r) => [(await ended(hub.url, r.id)).status, r.id] as const)));
    expect(await ended(hub.url, byStatus.failed!)).toMatchObject({ error_message: 'RuntimeError: async boom' });
    const failedLines = (await runLines(hub.url, byStatus.failed!)).map((l) => l.message.split('\n').at(-1));
    expect(failedLines).toEqual(['before the await', 'after the await', 'RuntimeError: async boom']);
    expect((await runLines(hub.url, byStatus.completed!)).map((l) => l.message)).toEqual(['before the await', 'after the await']);
  });
});
