/**
 * The rows the virtual list shows, built from the session's window: the markers for lines not
 * here, phase headers (collapsible), the lines with their traceback grouping, the live progress
 * bars, and the end of the run. Rebuilt once per render batch: O(lines), a few ms for 50,000.
 */
import type { LogLine, ProgressUpdate, Run } from '../api/types.ts';
import type { RunLogSession } from './session.ts';

/** Where a line sits in a traceback block (attrs.group): drawn as one framed block. */
export type GroupEdge = 'start' | 'middle' | 'end' | 'single' | null;

export type Row =
  | { kind: 'gap'; key: string; side: 'top' | 'bottom'; count: number; loading: boolean }
  | { kind: 'phase'; key: string; phase: string; collapsed: boolean; hidden: number }
  | { kind: 'line'; key: number; line: LogLine; index: number; group: GroupEdge }
  | { kind: 'progress'; key: string; update: ProgressUpdate }
  | { kind: 'end'; key: string; run: Run };

export interface BuiltRows {
  rows: Row[];
  /** row index of each line index: to turn what is on screen into a focus, and seq into a row */
  rowOfLine: Int32Array;
}

export function buildRows(session: RunLogSession, collapsed: ReadonlySet<string>): BuiltRows {
  const { store } = session;
  const lines = store.lines;
  const rows: Row[] = [];
  const rowOfLine = new Int32Array(lines.length).fill(-1);
  const showPhases = session.phases.size > 1 || [...session.phases].some((phase) => phase !== 'run');

  if (store.lo > 0 || session.loading) {
    rows.push({ kind: 'gap', key: 'gap-top', side: 'top', count: store.lo, loading: session.loadingOlder || session.loading });
  }

  let phase: string | undefined;
  let phaseRow: Extract<Row, { kind: 'phase' }> | null = null;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (showPhases && line.phase !== phase) {
      phase = line.phase;
      const name = phase ?? 'output';
      phaseRow = { kind: 'phase', key: `phase-${line.seq}`, phase: name, collapsed: collapsed.has(name), hidden: 0 };
      rows.push(phaseRow);
    }
    if (phaseRow?.collapsed) {
      phaseRow.hidden++;
      continue;
    }
    rowOfLine[index] = rows.length;
    rows.push({ kind: 'line', key: line.seq, line, index, group: groupEdge(lines, index) });
  }

  const skippedAfter = session.skippedAfter;
  if (!session.attached && !session.loading && (skippedAfter > 0 || session.loadingNewer)) {
    rows.push({ kind: 'gap', key: 'gap-bottom', side: 'bottom', count: skippedAfter, loading: session.loadingNewer });
  }
  if (session.attached && session.filter.q === '') {
    for (const [source, update] of session.progress) {
      if (session.filter.level !== null && update.level !== undefined && !levelAtLeast(update.level, session.filter.level)) continue;
      rows.push({ kind: 'progress', key: `progress-${source}`, update });
    }
  }
  if (session.attached && session.ended && session.run !== null) {
    rows.push({ kind: 'end', key: 'end', run: session.run });
  }
  return { rows, rowOfLine };
}

function groupEdge(lines: readonly LogLine[], index: number): GroupEdge {
  const group = lines[index]!.attrs?.group;
  if (group === undefined) return null;
  const before = lines[index - 1]?.attrs?.group === group;
  const after = lines[index + 1]?.attrs?.group === group;
  if (before && after) return 'middle';
  if (before) return 'end';
  if (after) return 'start';
  return 'single';
}

const ORDER = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
function levelAtLeast(level: string, min: string): boolean {
  return ORDER.indexOf(level) >= ORDER.indexOf(min);
}

/** px: a line without wrapping */
export const LINE_PX = 20;

/**
 * Screen lines of a message without wrapping: a message may hold line ends (a Python exception
 * sent as one record keeps its traceback's lines), shown as they are, so its row is that many
 * lines tall.
 */
export function textLines(message: string): number {
  let lines = 1;
  for (let at = message.indexOf('\n'); at !== -1; at = message.indexOf('\n', at + 1)) lines++;
  return lines;
}
