/**
 * A small heap for the processes that sit beside a user's job (`runlog run`, `worker`, `follow`).
 *
 * Why: a runner shares its machine with the job it watches (often a GPU job short of host memory),
 * and issue 9 bounds it at 100 MB however far behind the hub is. What it keeps is small (a few
 * thousand lines in memory, the rest waits in the WAL on disk: ~10 MB live), but V8's defaults size
 * the heap for throughput, not for a neighbour: the young generation grows to two 16 MB
 * semi-spaces under a steady stream of short-lived records, and the old generation is let grow
 * to several times what is live before it is collected. With them a 2M-line job of 90-byte
 * lines peaks at 120–160 MB of RSS (2 KB lines: 140–165 MB); with the two settings below, at
 * 85 MB (2 KB lines: 95 MB). The price is more scavenges: at full speed, beside a hub on the
 * same two cores, a 2M-line job took ~15 % longer.
 * `RUNLOG_LEAN_HEAP=off` keeps V8's defaults, as does `RUNLOG_WAL=off` (benchmarks), where every unsent line
 * waits in memory and a small heap would only thrash.
 *
 * How: both are V8 flags that V8 reads each time it sizes a space (not only at start), so they
 * can be set from inside the process; `node` flags on the command line would also reach the hub
 * (`runlog server` is the same binary), which wants the opposite trade.
 *   - `--heap-growing-percent`: the old generation is collected once it grew by 20 % over what
 *     was live after the last full collection (V8 picks 10–300 % by its own heuristics).
 *   - `--semi-space-growth-factor=1` once the young generation reached YOUNG_CAP: it stops there
 *     instead of doubling on to 16 MB (a fixed small size from the start costs far more scavenges).
 * Both flags exist and work the same on Node 20 and Node 24 (a program keeping 3,000 small objects
 * while allocating fast: new space 8.4 MB with them on both; without them 34 MB on Node 20 and
 * 134 MB on Node 24). An unknown flag (a future V8) is ignored by V8 with a line on stderr, and
 * nothing else changes.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** the young generation's size (both semi-spaces, bytes) past which it stops growing */
const YOUNG_CAP = 4 * 1024 * 1024;
const OLD_GROWTH_PERCENT = 20;
const WATCH_MS = 20;

let applied = false;

export function keepHeapSmall(): void {
  if (applied || process.env.RUNLOG_LEAN_HEAP === 'off') return;
  applied = true;
  setFlagsFromString(`--heap-growing-percent=${OLD_GROWTH_PERCENT}`);
  const watch = setInterval(() => {
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    if (young === undefined || young.space_size >= YOUNG_CAP) {
      setFlagsFromString('--semi-space-growth-factor=1');
      clearInterval(watch);
    }
  }, WATCH_MS);
  watch.unref();
}
