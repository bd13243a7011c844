/**
 * LineStore: the window of a run's lines the tab keeps, and what it knows about the lines outside.
 *
 * The window holds the lines that match the view's filter with `lo < seq <= hi`, all of them, in
 * seq order. Lines at or below `lo` exist on the hub but are not here (never loaded, or dropped);
 * so do lines above `hi` when the window has come loose from the live end. The viewer shows each
 * side as an "N lines skipped" row that fetches them again when scrolled to.
 *
 * Memory stays bounded (issue 4): past `cap` lines the store drops lines from the end farther from
 * what the user is looking at, and moves `lo` or `hi` to say so. Nothing here does I/O.
 */
import type { LogLine } from '../api/types.ts';

export const DEFAULT_CAP = 50_000;

export class LineStore {
  lines: LogLine[] = [];
  /** every matching line with lo < seq <= hi is in `lines` */
  lo = 0;
  hi = 0;
  /** lines dropped to keep the cap, since the last reset: said in the UI */
  dropped = 0;

  constructor(readonly cap = DEFAULT_CAP) {}

  get length(): number {
    return this.lines.length;
  }

  get firstSeq(): number | undefined {
    return this.lines[0]?.seq;
  }

  get lastSeq(): number | undefined {
    return this.lines[this.lines.length - 1]?.seq;
  }

  /** Replaces the window: `lines` are all the matching lines with lo < seq <= hi. */
  reset(lines: LogLine[], lo: number, hi: number): void {
    this.lines = lines.slice();
    this.lo = lo;
    this.hi = Math.max(hi, lo);
    this.dropped = 0;
  }

  /** Lines just above `hi` (a page forward, or live lines); those at or below `hi` are duplicates. */
  append(lines: readonly LogLine[], newHi: number): number {
    let added = 0;
    for (const line of lines) {
      if (line.seq <= this.hi) continue;
      this.lines.push(line);
      this.hi = line.seq;
      added++;
    }
    this.hi = Math.max(this.hi, newHi);
    return added;
  }

  /** Lines just below `lo`, in seq order (a page backward). */
  prepend(lines: readonly LogLine[], newLo: number): number {
    const fresh = lines.filter((line) => line.seq <= this.lo);
    if (fresh.length > 0) this.lines = fresh.concat(this.lines);
    this.lo = Math.min(this.lo, Math.max(0, newLo));
    return fresh.length;
  }

  /**
   * Drops lines past `cap` (the store's, or a smaller one) from the end farther from `focus` (an
   * index in `lines`: what is on screen). Returns the side it dropped from, if any.
   */
  trim(focus: number, cap = this.cap): 'top' | 'bottom' | null {
    const excess = this.lines.length - cap;
    if (excess <= 0) return null;
    const fromTop = focus >= this.lines.length / 2;
    if (fromTop) {
      const removed = this.lines.splice(0, excess);
      this.lo = removed[removed.length - 1]?.seq ?? this.lo;
    } else {
      this.lines.splice(this.lines.length - excess, excess);
      this.hi = this.lines[this.lines.length - 1]?.seq ?? this.lo;
    }
    this.dropped += excess;
    return fromTop ? 'top' : 'bottom';
  }

  /** Index of the line with this seq, or -1 (binary search: lines are in seq order). */
  indexOf(seq: number): number {
    let low = 0;
    let high = this.lines.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const at = this.lines[mid]!.seq;
      if (at === seq) return mid;
      if (at < seq) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }
}
