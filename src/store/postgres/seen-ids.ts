/**
 * SeenIds: the system_logs ids a hub has had notices of, so that after its LISTEN connection
 * comes back it reads exactly the rows whose notices it missed.
 *
 * Why not "the rows past the highest id seen": ids are drawn when a row is inserted, not when it
 * commits. Two heartbeats in flight at once (the seed's function called by many workers) commit in
 * either order, so a notice of ids 200–299 may come before the one of 100–199; when the LISTEN
 * connection drops between the two, rows 100–199 are below the highest id seen and yet were never
 * told of. So the ranges told of are kept, and a catch-up reads the holes between them as well as
 * what lies past them.
 *
 * A hole may also be ids no row will ever have (a transaction that rolled back): reading it finds
 * nothing. Holes more than WINDOW ids below the highest id seen are forgotten, so what is kept
 * stays small whatever the hub's age: a transaction in flight that long is not waited for.
 */

/** how far below the highest id seen a hole is still read on a catch-up */
const WINDOW = 100_000;
/** holes read at most on one catch-up (the newest): rolled-back heartbeats leave some for good */
const MAX_HOLES = 1000;

export class SeenIds {
  /** ranges told of, above `floor`: sorted, disjoint, not touching */
  private ranges: [number, number][] = [];

  /** `floor`: every id up to it is taken as seen (what was stored when the hub began listening) */
  constructor(private floor: number) {}

  /** A notice told of ids `low`…`high`. */
  add(low: number, high: number): void {
    if (high <= this.floor) return;
    low = Math.max(low, this.floor + 1);
    const next: [number, number][] = [];
    let merged: [number, number] = [low, high];
    let placed = false;
    for (const range of this.ranges) {
      if (range[1] + 1 < merged[0]) next.push(range);
      else if (merged[1] + 1 < range[0]) {
        if (!placed) next.push(merged);
        placed = true;
        next.push(range);
      } else merged = [Math.min(merged[0], range[0]), Math.max(merged[1], range[1])];
    }
    if (!placed) next.push(merged);
    this.ranges = next;
    this.prune();
  }

  /**
   * The id ranges up to `upTo` (the highest id stored now) that no notice told of, oldest first;
   * they are then taken as seen: the caller reads them now.
   */
  takeMissing(upTo: number): [number, number][] {
    const missing: [number, number][] = [];
    let from = this.floor + 1;
    for (const [low, high] of this.ranges) {
      if (low > upTo) break;
      if (low > from) missing.push([from, low - 1]);
      from = high + 1;
    }
    if (from <= upTo) missing.push([from, upTo]);
    this.add(this.floor + 1, upTo);
    return missing.slice(-MAX_HOLES);
  }

  private prune(): void {
    const highest = this.ranges[this.ranges.length - 1]?.[1] ?? this.floor;
    const floor = highest - WINDOW;
    if (floor <= this.floor) return;
    this.floor = floor;
    this.ranges = this.ranges.filter(([, high]) => high > floor).map(([low, high]): [number, number] => [Math.max(low, floor + 1), high]);
  }
}
