/** One row of the virtual list: a line, a marker, a phase header, a progress bar, the end. */
import { Component } from 'preact';
import { clock, count, duration } from '../ui/format.ts';
import { levelBadge } from '../ui/status.tsx';
import { ansiNodes } from './AnsiText.tsx';
import { LINE_PX, textLines, type Row } from './rows.ts';
import type { RunLogSession } from './session.ts';

interface Props {
  row: Row;
  index: number;
  start: number;
  /** wrap mode: rows have their own height, measured */
  measure: ((element: HTMLDivElement | null) => void) | undefined;
  session: RunLogSession;
  /** the line a #L link or an error jump points at: highlighted */
  target: boolean;
  /** the search: its matches are marked in the text */
  search: string;
  timestamps: boolean;
  /** a narrow screen: the message on a line of its own under the other columns (viewer.css .stacked) */
  stacked: boolean;
  /** a run of several files: names a line's file (LogViewer's fileNamer), else null */
  fileName: ((path: string) => string) | null;
  /** a run of several loggers: each line names its own (Python's record.name) */
  loggers: boolean;
  onToggle: (phase: string) => void;
}

/**
 * A render of the viewer re-renders only the rows whose props changed (its callbacks are stable),
 * not every row on screen. (preact/compat's memo would do the same, but compat hooks into every
 * element of the app.)
 */
export class RowView extends Component<Props> {
  override shouldComponentUpdate(next: Props): boolean {
    for (const key in next) if (next[key as keyof Props] !== this.props[key as keyof Props]) return true;
    return false;
  }

  override render(props: Props) {
    return rowContent(props);
  }
}

function rowContent({ row, index, start, measure, session, target, search, timestamps, stacked, fileName, loggers, onToggle }: Props) {
  const common = {
    'data-index': index,
    ref: measure,
    style: { transform: `translateY(${start}px)` },
  };
  switch (row.kind) {
    case 'line': {
      const { line } = row;
      // unwrapped rows have a fixed height: a message with line ends gets one line of it per line,
      // and stacked, the line of the other columns above it (LogViewer's estimateSize)
      const lines = measure === undefined ? textLines(line.message) + (stacked ? 1 : 0) : 1;
      if (lines > 1) common.style = { ...common.style, height: `${lines * LINE_PX}px` } as typeof common.style;
      const level = line.level.toLowerCase();
      const classes = `row line lvl-${level}${row.group === null ? '' : ` grp grp-${row.group}`}${target ? ' target' : ''}${line.source === 'stderr' ? ' stderr' : ''}`;
      return (
        <div {...common} class={classes} data-testid="log-row" data-seq={line.seq} data-level={line.level}>
          {/* clicks and the timestamp's tooltip are handled once for all rows, in LogViewer */}
          {/* not a tab stop: Tab would walk through every line on screen before the next control */}
          <a class="ln" href={session.lineHref(line.seq)} data-testid="line-link" tabIndex={-1}>
            {line.seq}
          </a>
          {timestamps && <span class="ts">{clock(line.timestamp)}</span>}
          {levelBadge(line.level)}
          {fileName !== null && fileTag(line.attrs?.path, fileName)}
          {loggers && (
            <span class="logger" title={line.logger}>
              {line.logger ?? ''}
            </span>
          )}
          <span class="msg">
            {ansiNodes(line.message, search)}
            {line.attrs?.truncated === true && <span class="cut" title="cut at the hub's line limit"> [truncated]</span>}
          </span>
        </div>
      );
    }
    case 'progress':
      if (stacked && measure === undefined) common.style = { ...common.style, height: `${2 * LINE_PX}px` } as typeof common.style;
      return (
        <div {...common} class="row line progress" data-testid="progress-row" data-source={row.update.source ?? ''}>
          <span class="ln spinner" aria-label="in progress">
            ⟳
          </span>
          {timestamps && <span class="ts">{clock(row.update.timestamp)}</span>}
          {levelBadge(row.update.level ?? 'INFO')}
          <span class="msg">
            {ansiNodes(row.update.message)}
          </span>
        </div>
      );
    case 'gap': {
      const load = () => void (row.side === 'top' ? session.loadOlder() : session.loadNewer());
      const filtered = session.filter.level !== null || session.filter.q !== '';
      const what = row.count === 0 && row.loading
        ? 'loading'
        : filtered
        ? row.side === 'top'
          ? `earlier lines (to #${count(row.count)}) skipped`
          : `later lines skipped`
        : `${count(row.count)} ${row.count === 1 ? 'line' : 'lines'} skipped`;
      return (
        <div {...common} class="row gap" data-testid="skipped-marker" data-side={row.side} data-count={row.count}>
          <button class="gap-button" onClick={load} disabled={row.loading}>
            {row.side === 'top' ? '↑' : '↓'} {what}
            {what !== 'loading' && <span class="muted"> · {row.loading ? 'loading…' : 'scroll or click to load'}</span>}
          </button>
        </div>
      );
    }
    case 'phase':
      return (
        <div {...common} class={`row phase phase-${row.phase}`} data-testid="phase-header" data-phase={row.phase}>
          <button class="phase-toggle" onClick={() => onToggle(row.phase)} aria-expanded={!row.collapsed}>
            <span class="chev">{row.collapsed ? '▸' : '▾'}</span> {row.phase}
          </button>
          {row.collapsed && <span class="muted small">{count(row.hidden)} lines hidden</span>}
        </div>
      );
    case 'end': {
      const { run } = row;
      return (
        <div {...common} class={`row end status-${run.status}`} data-testid="run-end">
          <span>
            run {run.status}
            {run.exit_code !== null && ` · exit code ${run.exit_code}`}
            {run.signal !== null && ` · ${run.signal}`}
            {run.duration_seconds !== null && ` · ${duration(run.duration_seconds)}`}
          </span>
        </div>
      );
    }
  }
}

/** the file a line came from, named; an empty cell of the same width for a line of no file (a system line) */
function fileTag(path: unknown, fileName: (path: string) => string) {
  if (typeof path !== 'string') return <span class="file" />;
  return (
    <span class="file" title={path}>
      {fileName(path)}
    </span>
  );
}
