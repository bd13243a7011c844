/**
 * Two runlog.Handler(run_id=X) alive at once on one spool (the ranks of a training job on one
 * machine, a pool's processes, two Handlers in one program) shared the run's writer key and each
 * numbered its lines from the same seq: the hub kept one line per seq, so most lines were lost,
 * silently, and the first to exit ended the run under the others. Now the first keeps the run; a
 * second one says so on stderr and keeps its lines in a file of its own under refused/, as a run
 * the hub will not have is kept: none is lost, none is silently dropped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { tempDir } from './helpers.js';
import { ended, newHub, noPython, pythonCode, range, runLines } from './python-harness.js';

describe.skipIf(noPython !== undefined)('the Python client: one live Handler per run and spool', () => {
  it('a second process naming a run the first writes keeps its lines in refused/, said on stderr; the first’s lines all arrive', async () => {
    const hub = await newHub();
    const spool = tempDir('runlog-spool-');
    const code = (rank: number) => [
      'import logging, time, runlog',
      'logging.getLogger().setLevel(logging.INFO)',
      'logging.getLogger().addHandler(runlog.Handler(run_id="ranks"))',
      `for i in range(1, 51): logging.info("rank ${rank} line %d", i)`,
      'print("logged", flush=True)',
    ];
    // the first stays alive while the second logs
    const first = pythonCode([...code(0), 'time.sleep(3)'], { RUNLOG_HUB: hub.url, RUNLOG_SPOOL: spool });
    await first.lines(1);
    const second = pythonCode(code(1), { RUNLOG_HUB: hub.url, RUNLOG_SPOOL: spool });
    const secondDone = await second.done;
    expect(secondDone.code).toBe(0);
    expect(secondDone.stderr).toContain('run ranks is written by another Handler on this spool');
    expect((await first.done).code).toBe(0);
    expect(await ended(hub.url, 'ranks')).toMatchObject({ status: 'completed' });
    expect((await runLines(hub.url, 'ranks')).map((l) => [l.seq, l.message])).toEqual(range(1, 50).map((n) => [n, `rank 0 line ${n}`]));
    const kept = readdirSync(join(spool, 'refused')).filter((name) => name.startsWith('ranks.'));
    expect(kept).toHaveLength(1);
    const records = readFileSync(join(spool, 'refused', kept[0]!), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as WireRecord);
    expect(records.map((r) => [r.seq, r.message])).toEqual(range(1, 50).map((n) => [n, `rank 1 line ${n}`]));
  });

  it('two Handlers of one program on one run id: the second says so, the first’s lines arrive once each', async () => {
    const hub = await newHub();
    const program = pythonCode(
      [
        'import logging, runlog',
        'logging.getLogger().setLevel(logging.INFO)',
        'logging.getLogger().addHandler(runlog.Handler(run_id="twice"))',
        'logging.getLogger("other").addHandler(runlog.Handler(run_id="twice"))',
        'for i in range(1, 21): logging.info("root %d", i)',
      ],
      { RUNLOG_HUB: hub.url },
    );
    const result = await program.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('run twice is written by another Handler on this spool');
    expect((await runLines(hub.url, 'twice')).map((l) => [l.seq, l.message])).toEqual(range(1, 20).map((n) => [n, `root ${n}`]));
  });

  it('of two Handlers of one run made one after the other, the first keeps the run, whichever shipper thread starts first', async () => {
    const hub = await newHub();
    // the lock was taken on each shipper's thread: in ~1 pair of 4 the second's thread came first,
    // and the first Handler's lines went to refused/ while the run stayed empty
    const program = pythonCode(
      [
        'import logging, runlog',
        'for i in range(20):',
        '    first = runlog.Handler(run_id="pair-%d" % i)',
        '    second = runlog.Handler(run_id="pair-%d" % i)',
        '    log = logging.getLogger("pair-%d" % i)',
        '    log.setLevel(logging.INFO)',
        '    log.addHandler(first)',
        '    log.info("first of pair %d", i)',
      ],
      { RUNLOG_HUB: hub.url },
    );
    expect((await program.done).code).toBe(0);
    for (let i = 0; i < 20; i++) expect([i, (await runLines(hub.url, `pair-${i}`)).map((l) => l.message)]).toEqual([i, [`first of pair ${i}`]]);
  });

  it('of two Handlers of one run, the second is kept apart even when the first ends the run before its thread looks', async () => {
    // the owner was written on the first's thread, and the second's thread decided: one that found
    // the lock taken before the owner was said waited, as for a deliverer; one that started after
    // the first had ended found the lock free. Either way it took the run, ended by then, and its
    // lines were refused ("run quick-N cannot be written (… already ran)"): 1 pair in 15 here
    await expectPairsKeptApart('quick', 100, []);
  });

  it('names this program as the holder even when the second’s thread looks after the first ended and removed the run', async () => {
    // the race above, made certain: the second's thread looks only once the first has ended the
    // run and removed its directory (a loaded machine). It read `owner` then, from that directory,
    // and said "another process" (CI: 99 of 100 pairs named this program)
    await expectPairsKeptApart('late', 3, [
      'import os, time',
      'from runlog import _shipper',
      'setup = _shipper.RunShipper._setup',
      'def late(self):',
      '    deadline = time.monotonic() + 5',
      '    while self._rundir.held_by_live and os.path.exists(self._rundir.path) and time.monotonic() < deadline:',
      '        time.sleep(0.01)',
      '    return setup(self)',
      '_shipper.RunShipper._setup = late',
    ]);
  });
});

/**
 * `pairs` times, two Handlers of one run made one after the other in one program, the first
 * logging a line and ending, then the second ending: each second one is kept apart, naming this
 * program, and each run holds the first's line alone. `prelude` runs first (a patch of the client).
 */
async function expectPairsKeptApart(name: string, pairs: number, prelude: string[]): Promise<void> {
  const hub = await newHub();
  const spool = tempDir('runlog-spool-');
  const program = pythonCode(
    [
      'import logging, runlog',
      ...prelude,
      `for i in range(${pairs}):`,
      `    first = runlog.Handler(run_id="${name}-%d" % i)`,
      `    second = runlog.Handler(run_id="${name}-%d" % i)`,
      `    log = logging.getLogger("${name}-%d" % i)`,
      '    log.setLevel(logging.INFO)',
      '    log.addHandler(first)',
      '    log.info("first of pair %d", i)',
      '    first.end()',
      '    second.end()',
    ],
    { RUNLOG_HUB: hub.url, RUNLOG_SPOOL: spool },
  );
  const result = await program.done;
  expect(result.code).toBe(0);
  expect(result.stderr).not.toContain('cannot be written');
  // the second made nothing in the spool: the directory it made again as the first removed it was
  // left behind (or, made while being removed, an EEXIST: the spool unusable, the run written after all)
  expect(readdirSync(join(spool, 'runs'))).toEqual([]);
  const said = result.stderr.split('\n').filter((line) => line.includes('is written by another Handler on this spool'));
  expect(said).toHaveLength(pairs);
  for (const line of said) expect(line).toContain('(this program)');
  for (let i = 0; i < pairs; i++) expect([i, (await runLines(hub.url, `${name}-${i}`)).map((l) => l.message)]).toEqual([i, [`first of pair ${i}`]]);
}
