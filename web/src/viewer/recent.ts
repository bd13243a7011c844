/**
 * RecentLines: the last lines the live stream delivered, unfiltered, bounded. When the viewer's
 * window comes back to the live end (after a jump, a page forward, a new filter), the lines that
 * arrived while it was fetching are taken from here, so the join has no gap and no duplicate.
 */
import type { LogLine } from '../api/types.ts';

export class RecentLines {
  private lines: LogLine[] = [];
  /** every line with from < seq <= to is here */
  from = 0;
  to = 0;

  constructor(private readonly max = 10_000) {}

  reset(at: number): void {
    this.lines = [];
    this.from = at;
    this.to = at;
  }

  push(line: LogLine): void {
    this.lines.push(line);
    this.to = line.seq;
    // compact in chunks: one splice per `max` lines, not one shift per line
    if (this.lines.length > this.max * 2) {
      const removed = this.lines.splice(0, this.lines.length - this.max);
      this.from = removed[removed.length - 1]?.seq ?? this.from;
    }
  }

  /** Whether every line after `seq` is here. */
  covers(seq: number): boolean {
    return this.from <= seq;
  }

  after(seq: number): LogLine[] {
    let index = this.lines.length;
    while (index > 0 && this.lines[index - 1]!.seq > seq) index--;
    return this.lines.slice(index);
  }
}
