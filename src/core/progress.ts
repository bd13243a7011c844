/**
 * ProgressCollapser: what a progress bar leaves in the store.
 *
 * A segment ended by a lone `\r` is a progress update that replaces the previous one. The store
 * keeps only the last state before the next line, the way a terminal shows it: a line that
 * covers the bar (as long or longer, like tqdm's final `100%|…|` line) replaces it; a visually
 * empty line (`\r\r\n`, `\r\x1b[1B\n`) leaves the bar as the line; a shorter line would leave
 * part of the bar on screen, so the bar is kept as a line of its own first. So a 10,000-step bar
 * costs one stored line, not 10,000.
 */
import { stripVTControlCharacters } from 'node:util';

export type StoredLineHandler = (text: string, truncated: boolean, wasProgress: boolean) => void;

export class ProgressCollapser {
  private bar: string | undefined;
  private barTruncated = false;

  constructor(private readonly store: StoredLineHandler) {}

  /** A progress update: remembered, not stored. Returns false for a visually empty update. */
  progress(text: string, truncated: boolean): boolean {
    if (visibleLength(text) === 0) return false;
    this.bar = text;
    this.barTruncated = truncated;
    return true;
  }

  line(text: string, truncated: boolean): void {
    const bar = this.bar;
    if (bar === undefined) {
      this.store(text, truncated, false);
      return;
    }
    this.bar = undefined;
    const lineLength = visibleLength(text);
    if (lineLength === 0) {
      this.store(bar, this.barTruncated, true);
      return;
    }
    if (lineLength < visibleLength(bar)) this.store(bar, this.barTruncated, true);
    this.store(text, truncated, false);
  }

  /** End of input: a bar still showing is its final state. */
  end(): void {
    if (this.bar === undefined) return;
    const bar = this.bar;
    this.bar = undefined;
    this.store(bar, this.barTruncated, true);
  }
}

function visibleLength(text: string): number {
  const plain = text.includes('\x1b') ? stripVTControlCharacters(text) : text;
  return plain.trim().length;
}
