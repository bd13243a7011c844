/**
 * A small heap for the processes that sit beside a user's job (`runlog run`, `worker`, `follow`),
 * and a bounded one for the hub (HUB below).
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
 * `RUNLOG_LEAN_HEAP=off` keeps V8's defaults (runner and hub), as does `RUNLOG_WAL=off` (benchmarks), where every unsent line
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

export interface HeapProfile {
  /** the young generation's size (both semi-spaces, bytes) past which it stops growing */
  youngCap: number;
  /** the old generation is collected once it grew by this much (%) over what was live after the last full collection */
  oldGrowthPercent: number;
}

/** a process beside a user's job (see the header) */
export const BESIDE_JOB: HeapProfile = { youngCap: 4 * 1024 * 1024, oldGrowthPercent: 20 };

/**
 * The hub (`runlog server`): the same two settings, looser, as it wants throughput more than a
 * runner does. A runner's big batches (up to 5,000 lines, 2 MiB) outlive a scavenge of a small young
 * generation while they are parsed, stored and fanned out, and are promoted: with V8's defaults
 * (young generation 32 MB, old generation let grow to 2–3× what is live) a hub taking 1M lines at
 * full speed peaked at 140–190 MB of RSS, the heap alone at 65–115 MB for ~35 MB live. Capped at
 * 16 MB and collected at 50 % growth, its heap stays under ~50 MB and the hub at ~120 MB (peers
 * harness, memory scenario, 1 rep each, 5 runs), at the same lines/s and ~5 % more of the hub's CPU;
 * a 4 MB young generation cut ~10 MB more but cost ~40 % of the hub's CPU at full speed.
 */
export const HUB: HeapProfile = { youngCap: 16 * 1024 * 1024, oldGrowthPercent: 50 };

const WATCH_MS = 20;

let applied = false;

export function keepHeapSmall(profile: HeapProfile = BESIDE_JOB): void {
  if (applied || process.env.RUNLOG_LEAN_HEAP === 'off') return;
  applied = true;
  setFlagsFromString(`--heap-growing-percent=${profile.oldGrowthPercent}`);
  const watch = setInterval(() => {
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    if (young === undefined || young.space_size >= profile.youngCap) {
      setFlagsFromString('--semi-space-growth-factor=1');
      clearInterval(watch);
    }
  }, WATCH_MS);
  watch.unref();
}
