import { terminalSafe } from '../core/terminal.js';

/** A plain-text table: columns padded to their widest cell. Cells hold stored text (names, errors): no escape sequence or control character gets through. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  // a cell is one line: the line feeds terminalSafe keeps become spaces
  const all = [header, ...rows.map((row) => row.map((cell) => terminalSafe(cell, { colour: false }).replace(/\n/g, ' ')))];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}
