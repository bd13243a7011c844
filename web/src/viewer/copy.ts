/**
 * Copying log rows: one line of text per row. A row's cells are flex items (blocks), and Chrome
 * copies each block on a line of its own: three rows selected gave "12:00:01.234\nINF\nepoch 1\n…",
 * the time, level and message of a line apart. A copy event that starts in a list of rows is
 * answered here instead, from the rows the selection covers: each row's selected cells on one line,
 * separated by a space ("12:00:01.234 INFO train epoch 1"). The line number (a link) is left out,
 * as the browser left it out; the level is written in full (the badge shows INF for INFO). A
 * selection inside one cell (a word of a message) is the browser's to copy, as is one that goes
 * beyond the list. Plain text only: nothing of a line is put on the clipboard as HTML.
 *
 * One listener for the list, not a cost per row drawn: rows stay as they are.
 */

/** the copy event of a list of rows (onCopy on its scroll element) */
export function copyRows(event: ClipboardEvent): void {
  const list = event.currentTarget;
  const selection = document.getSelection();
  if (!(list instanceof Element) || selection === null || selection.rangeCount !== 1 || event.clipboardData === null) return;
  const text = rowsText(selection.getRangeAt(0), list);
  if (text === null) return;
  event.clipboardData.setData('text/plain', text);
  event.preventDefault();
}

/** The text of the rows `range` covers in `list`, a line each; null: the browser's copy will do. */
export function rowsText(range: Range, list: Element): string | null {
  if (range.collapsed || !list.contains(range.startContainer) || !list.contains(range.endContainer)) return null;
  const start = cellOf(range.startContainer);
  if (start !== null && start === cellOf(range.endContainer)) return null; // within one cell
  const lines: string[] = [];
  for (const row of list.querySelectorAll('.row.line')) {
    if (!range.intersectsNode(row)) continue;
    const words: string[] = [];
    let selected = false;
    for (const cell of row.children) {
      if (cell.classList.contains('ln') || !range.intersectsNode(cell)) continue;
      const label = LABELS.some((name) => cell.classList.contains(name));
      const text = cell.classList.contains('lvl') ? levelOf(cell) : selectedText(range, cell);
      if (!label && text !== '') selected = true;
      if (text !== '') words.push(text);
    }
    // A row the selection only touches at its edge is not copied: a triple-click on a line selects
    // up to the start of the next row's message, and its time and level (unselectable, before
    // it) came along as an extra line.
    if (!selected && (row.contains(range.endContainer) || row.contains(range.startContainer))) continue;
    lines.push(words.join(' '));
  }
  return lines.length === 0 ? null : lines.join('\n');
}

/** cells the user cannot select (user-select: none): written out only beside selected text */
const LABELS = ['ln', 'ts', 'lvl'];

/** the cell (a row's child) a node is in, or null outside any row */
function cellOf(node: Node): Element | null {
  let element = node instanceof Element ? node : node.parentElement;
  while (element !== null && element.parentElement !== null && !element.parentElement.classList.contains('row')) element = element.parentElement;
  return element?.parentElement === null ? null : element;
}

/** a level badge's level in full: its class says it (lvl lvl-warning), its text is short (WRN) */
function levelOf(cell: Element): string {
  for (const name of cell.classList) if (name.startsWith('lvl-')) return name.slice(4).toUpperCase();
  return cell.textContent ?? '';
}

/** the part of a cell's text inside the range: all of it, or from or to where the selection ends */
function selectedText(range: Range, cell: Element): string {
  const part = document.createRange();
  part.selectNodeContents(cell);
  if (range.compareBoundaryPoints(Range.START_TO_START, part) > 0) part.setStart(range.startContainer, range.startOffset);
  if (range.compareBoundaryPoints(Range.END_TO_END, part) < 0) part.setEnd(range.endContainer, range.endOffset);
  return part.toString();
}
