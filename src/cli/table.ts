import { terminalSafe } from '../core/terminal.js';

/** A column whose cells may be cut (with `…`): never wider than `max`, and down to `min` to fit a terminal. */
export interface Shrink {
  column: number;
  min: number;
  max?: number;
}

export interface Fit {
  /** the terminal's width: the table is made to fit it when it can; none (a pipe) leaves cells whole but for `max` */
  width?: number;
  /** the columns that give way, the first first */
  shrink: readonly Shrink[];
}

/**
 * A plain-text table: columns padded to their widest cell. Cells hold stored text (names, errors):
 * no escape sequence or control character gets through. Widths count terminal columns (a wide
 * character or an emoji two, a combining mark none), so a name holding one does not shift the
 * columns after it, and a cut never splits a character.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], fit: Fit = { shrink: [] }): string {
  // a cell is one line: the line feeds terminalSafe keeps become spaces
  const all = [header, ...rows.map((row) => row.map((cell) => terminalSafe(cell, { colour: false }).replace(/\n/g, ' ')))].map((row) => row.map((cell) => [...cell]));
  const widths = header.map((_, column) => Math.max(...all.map((row) => columns(row[column] ?? []))));
  for (const { column, max } of fit.shrink) {
    if (max !== undefined) widths[column] = Math.max(Math.min(widths[column]!, max), header[column]!.length);
  }
  if (fit.width !== undefined) {
    // two spaces between columns; the last column needs no padding, but its text counts
    let excess = widths.reduce((sum, width) => sum + width, 0) + 2 * (widths.length - 1) - fit.width;
    for (const { column, min } of fit.shrink) {
      if (excess <= 0) break;
      const give = Math.max(0, Math.min(excess, widths[column]! - Math.max(min, header[column]!.length)));
      widths[column]! -= give;
      excess -= give;
    }
  }
  const cut = (cell: string[], width: number) => {
    if (columns(cell) <= width) return cell;
    const kept: string[] = [];
    let used = 1; // the `…`
    for (const char of cell) {
      if (used + charColumns(char) > width) break;
      kept.push(char);
      used += charColumns(char);
    }
    return [...kept, '…'];
  };
  return (
    all
      .map((row) =>
        row
          .map((cell, column) => {
            const shown = cut(cell, widths[column] ?? 0);
            return shown.join('') + ' '.repeat(Math.max(0, (widths[column] ?? 0) - columns(shown)));
          })
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** How many terminal columns a text takes: East Asian wide characters and emoji two, combining marks none. */
export function displayWidth(text: string): number {
  return columns([...text]);
}

function columns(chars: readonly string[]): number {
  let width = 0;
  for (const char of chars) width += charColumns(char);
  return width;
}

// the wide ranges of Unicode's East Asian Width (W, F) that names hold in practice, and the emoji planes
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf],
  [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60], [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
];

function charColumns(char: string): number {
  const code = char.codePointAt(0)!;
  if ((code >= 0x300 && code <= 0x36f) || (code >= 0x200b && code <= 0x200f) || (code >= 0xfe00 && code <= 0xfe0f)) return 0;
  return WIDE.some(([from, to]) => code >= from && code <= to) ? 2 : 1;
}

/** The width to fit tables to: a terminal's; none into a pipe or a file. */
export function terminalWidth(out: NodeJS.WriteStream = process.stdout): number | undefined {
  return out.isTTY === true && out.columns > 0 ? out.columns : undefined;
}

/** A duration as a person reads it: `0.3s`, `42.0s`, `12m03s`, `5h02m`, `3d04h`. */
export function humanDuration(seconds: number): string {
  if (seconds < 59.95) return `${seconds.toFixed(1)}s`; // not `60.0s`
  const s = Math.max(60, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

/** How long ago, coarse: `12s ago`, `5m ago`, `3h ago`, `2d ago`. */
export function humanAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
