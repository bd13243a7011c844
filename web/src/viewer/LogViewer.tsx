/**
 * The log viewer: a toolbar, a virtualised list of rows (only what is on screen is in the DOM),
 * the "N new lines" button and a status line. State lives in RunLogSession; this file turns
 * scrolling into the session's requests (load older/newer, follow or not) and the session's
 * changes into scroll positions.
 */
import { defaultRangeExtractor } from '@tanstack/virtual-core';
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { NARROW, useKeys, useMedia, useSetting } from '../ui/hooks.ts';
import { count } from '../ui/format.ts';
import { FINAL_STATUSES } from '../api/types.ts';
import { buildRows, LINE_PX, textLines, type Row } from './rows.ts';
import type { RunLogSession } from './session.ts';
import { useRemeasure, useVirtualizer } from './virtual.ts';
import { RowView } from './RowView.tsx';
import { Toolbar } from './Toolbar.tsx';
import { copyRows } from './copy.ts';

/** px: markers and phase headers are taller than a line (LINE_PX) */
const SIZES: Record<Row['kind'], number> = { line: LINE_PX, progress: LINE_PX, gap: 30, phase: 26, end: 30 };
/** scrolled up by more than this from the bottom: follow mode pauses */
const PAUSE_PX = 2 * LINE_PX;
/** rows rendered beyond the screen on each side */
const OVERSCAN = 12;
/** a marker this close to the screen starts fetching its lines */
const PREFETCH_PX = 30 * LINE_PX;

export function LogViewer({ session }: { session: RunLogSession }) {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => session.subscribe(() => rerender(0)), [session]);

  const [timestamps, setTimestamps] = useSetting<boolean>('timestamps', true);
  const [wrap, setWrap] = useSetting<boolean>('wrap', false);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  // a phone: a line's message goes under its number, time, level, file and logger, the whole width
  // (beside them it was ~15 characters wide at 420 px, and a file's name pushed it off screen):
  // one screen line more a row, unwrapped still of a known height (not measured)
  const stacked = useMedia(NARROW);
  const scrollRef = useRef<HTMLDivElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);

  const built = useMemo(() => buildRows(session, collapsed), [session, session.version, collapsed]);
  const { rows } = built;

  // new functions only when the rows change: the virtualizer redoes its O(rows) measurements
  // when getItemKey changes, and that should be once per batch of lines, not once per render
  const estimateSize = useCallback((index: number) => {
    const row = rows[index];
    // a message with line ends is as many lines tall (wrapped rows are measured besides); stacked,
    // a line or a progress bar has its other columns on a line above
    if (row?.kind === 'line') return LINE_PX * (textLines(row.line.message) + (stacked ? 1 : 0));
    return SIZES[row?.kind ?? 'line'] + (stacked && row?.kind === 'progress' ? LINE_PX : 0);
  }, [rows, stacked]);
  const getItemKey = useCallback((index: number) => rows[index]?.key ?? index, [rows]);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    getItemKey,
    overscan: OVERSCAN,
    // following: render the last rows straight away, not the rows at the old position first, and
    // no more than fill the screen (each batch of lines replaces them all: no rows to spare)
    rangeExtractor: (range) => {
      if (!session.following || range.count === 0) return defaultRangeExtractor(range);
      // (a row is a screen line at least; stacked, two)
      const visible = Math.ceil((scrollRef.current?.clientHeight ?? 1000) / (stacked ? 2 * LINE_PX : LINE_PX)) + 1;
      const start = Math.max(0, range.count - visible);
      return Array.from({ length: range.count - start }, (_, offset) => start + offset);
    },
  });
  useRemeasure(virtualizer, wrap, [wrap, stacked]);
  // lines from several files (runlog follow 'outputs/*/run.log'): each row names its file
  const fileName = useMemo(() => fileNamer(session.paths), [session.paths.size]);

  // --- scroll position across changes of the rows ------------------------------------------
  // the first line on screen and its distance from the top: after rows are added or dropped
  // above it, the view is put back so that this line stays where the eye was
  const anchor = useRef<{ seq: number; delta: number } | null>(null);
  const lastTop = useRef(0);
  const lastRows = useRef(rows);

  const firstVisibleLine = (): Row & { kind: 'line' } | undefined => {
    const el = scrollRef.current;
    if (el === null) return undefined;
    for (const item of virtualizer.getVirtualItems()) {
      const row = rows[item.index];
      if (item.end > el.scrollTop && row?.kind === 'line') return row;
    }
    return undefined;
  };

  const record = () => {
    const el = scrollRef.current;
    if (el === null) return;
    let found: { seq: number; delta: number } | null = null;
    let middle: number | null = null;
    const centre = el.scrollTop + el.clientHeight / 2;
    for (const item of virtualizer.getVirtualItems()) {
      const row = rows[item.index];
      if (row?.kind !== 'line') continue;
      if (found === null && item.end > el.scrollTop) found = { seq: row.line.seq, delta: el.scrollTop - item.start };
      if (middle === null && item.end >= centre) middle = row.index;
    }
    anchor.current = found;
    if (middle !== null) session.setFocus(middle);
  };

  /** Writes scrollTop and tells the virtualizer at once, so no frame shows stale rows. */
  const scrollTo = (top: number) => {
    const el = scrollRef.current;
    if (el === null) return;
    el.scrollTop = top;
    lastTop.current = el.scrollTop;
    el.dispatchEvent(new Event('scroll'));
  };

  const rowOfSeq = (seq: number): number => {
    const lines = session.store.lines;
    // the line, or the first one after it (it may be filtered out)
    let low = 0;
    let high = lines.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (lines[mid]!.seq < seq) low = mid + 1;
      else high = mid;
    }
    return built.rowOfLine[Math.min(low, lines.length - 1)] ?? -1;
  };

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el === null) return;
    const request = session.takeScrollRequest();
    const rowsChanged = lastRows.current !== rows;
    lastRows.current = rows;
    if (request?.kind === 'bottom' || (request === null && session.following)) {
      if (el.scrollTop + el.clientHeight < el.scrollHeight - 1) scrollTo(el.scrollHeight);
    } else if (request?.kind === 'top') {
      scrollTo(0);
    } else if (request?.kind === 'seq') {
      const index = rowOfSeq(request.seq);
      const item = index >= 0 ? virtualizer.measurementsCache[index] : undefined;
      // a line already on screen (a click on its number) stays where it is
      const onScreen = item !== undefined && item.start >= el.scrollTop && item.end <= el.scrollTop + el.clientHeight;
      if (item !== undefined && !onScreen) scrollTo(Math.max(0, item.start - el.clientHeight / 3));
    } else if (rowsChanged && anchor.current !== null) {
      const index = session.store.indexOf(anchor.current.seq);
      const row = index >= 0 ? built.rowOfLine[index] : undefined;
      const item = row !== undefined && row >= 0 ? virtualizer.measurementsCache[row] : undefined;
      if (item !== undefined) {
        const want = item.start + anchor.current.delta;
        if (Math.abs(el.scrollTop - want) > 1) scrollTo(want);
      }
    }
    record();
  });

  // markers on screen (or near it): fetch what they stand for. Read from the DOM after the
  // layout effect, not from this render's items: those may predate a scroll to the bottom
  const loadNearMarkers = () => {
    const el = scrollRef.current;
    if (el === null || session.loading) return;
    if (rows[0]?.key === 'gap-top' && el.scrollTop < PREFETCH_PX) void session.loadOlder();
    if (rows[rows.length - 1]?.key === 'gap-bottom' && el.scrollHeight - el.scrollTop - el.clientHeight < PREFETCH_PX) void session.loadNewer();
  };
  useEffect(loadNearMarkers);
  const items = virtualizer.getVirtualItems();

  const onScroll = () => {
    const el = scrollRef.current;
    if (el === null) return;
    const top = el.scrollTop;
    const distance = el.scrollHeight - top - el.clientHeight;
    if (session.following && distance > PAUSE_PX && top < lastTop.current - 1) {
      session.setFollowing(false); // the user scrolled up: stop pulling the view down
    } else if (!session.following && session.attached && !session.loading && distance <= 2 && top > lastTop.current) {
      session.setFollowing(true); // back at the bottom by hand: follow again
    }
    lastTop.current = top;
    record();
    loadNearMarkers();
  };

  const fromSeq = () => {
    const target = session.target;
    if (target !== null && session.store.indexOf(target) >= 0) return target;
    return firstVisibleLine()?.line.seq ?? session.store.firstSeq ?? 0;
  };

  useKeys({
    '/': () => searchRef.current?.focus(),
    g: () => void session.jumpToStart(),
    G: () => void session.jumpToLive(),
    f: () => session.toggleFollow(),
  });

  // stable, so that rows (memoised) do not re-render for a new callback
  const toggleRow = useCallback((phase: string) => {
    setCollapsed((old) => {
      const next = new Set(old);
      if (next.has(phase)) next.delete(phase);
      else next.add(phase);
      return next;
    });
  }, []);

  // one listener for all rows rather than one per row drawn: a line number's click is a link to
  // the line (a plain click stays in the page; a click with a modifier opens a tab as usual)
  const onRowsClick = (event: MouseEvent) => {
    const link = (event.target as Element).closest?.('a.ln');
    const seq = Number((link?.parentElement as HTMLElement | null | undefined)?.dataset.seq);
    if (!Number.isInteger(seq) || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    const hash = session.lineHref(seq);
    if (location.hash === hash) void session.goTo(seq);
    else location.hash = hash;
  };

  // the full timestamp as a tooltip, set when the pointer comes to it rather than on every row drawn
  const onRowsOver = (event: MouseEvent) => {
    // (every time: an element drawn while following may show another line by now)
    const ts = (event.target as Element).closest?.('.ts');
    if (!(ts instanceof HTMLElement)) return;
    const line = session.store.lines[session.store.indexOf(Number((ts.parentElement as HTMLElement).dataset.seq))];
    if (line !== undefined && ts.title !== line.timestamp) ts.title = line.timestamp;
  };

  const digits = String(Math.max(session.store.hi, session.store.lastSeq ?? 0, 999)).length;
  const store = session.store;

  return (
    <section class={`viewer ${wrap ? 'wrap' : 'nowrap'} ${timestamps ? '' : 'no-ts'}${stacked ? ' stacked' : ''}`} style={{ '--ln-w': `${digits + 1.5}ch` }} data-testid="log-viewer">
      <Toolbar
        session={session}
        searchRef={searchRef}
        timestamps={timestamps}
        wrap={wrap}
        onTimestamps={() => setTimestamps(!timestamps)}
        onWrap={() => setWrap(!wrap)}
        fromSeq={fromSeq}
      />
      <div class="log-frame">
        <div class="log-scroll" ref={scrollRef} onScroll={onScroll} onClick={onRowsClick} onMouseOver={onRowsOver} onCopy={copyRows} tabIndex={0} data-testid="log-scroll" aria-label="log lines">
          <div class="log-sizer" style={{ height: `${virtualizer.getTotalSize()}px` }}>
            {items.map((item, position) => {
              const row = rows[item.index];
              if (row === undefined) return null;
              return (
                <RowView
                  // following without wrapping, each batch of lines replaces every row on screen: the
                  // elements stay (keyed by position) and only their text changes, far cheaper than
                  // new elements. Otherwise a row keeps its element while it is on screen, so that a
                  // selection stays on its line as the view scrolls (and a wrapped row is measured once)
                  key={session.following && !wrap ? position : row.key}
                  row={row}
                  index={item.index}
                  start={item.start}
                  measure={wrap ? virtualizer.measureElement : undefined}
                  session={session}
                  target={row.kind === 'line' && row.line.seq === session.target}
                  search={session.filter.q}
                  timestamps={timestamps}
                  stacked={stacked}
                  fileName={fileName}
                  loggers={session.loggers.size > 1}
                  onToggle={toggleRow}
                />
              );
            })}
          </div>
          {session.error !== null && <div class="log-empty error-text">{session.error}</div>}
          {/* an ended run's end row is no line: without this a filter matching nothing in it showed a blank box */}
          {session.error === null && !session.loading && store.length === 0 && rows.every((row) => row.kind === 'end') && (
            <div class="log-empty muted" data-testid="log-empty">
              {session.filter.q !== '' || session.filter.level !== null ? 'no matching lines' : session.run !== null && FINAL_STATUSES.includes(session.run.status) ? 'no lines' : 'no lines yet'}
            </div>
          )}
        </div>
        {!session.following && session.newLines > 0 && (
          <button class="new-lines" data-testid="new-lines" onClick={() => void session.jumpToLive()}>
            ↓ {count(session.newLines)} new {session.newLines === 1 ? 'line' : 'lines'}
          </button>
        )}
      </div>
      <footer class="log-status small muted" data-testid="log-status">
        <span>
          {store.length === 0 ? 'no lines loaded' : `lines ${count(store.firstSeq ?? 0)}–${count(store.lastSeq ?? 0)} · ${count(store.length)} in view`}
          {session.run !== null && ` · ${count(Math.max(session.run.line_count, store.hi))} in run`}
          {store.dropped > 0 && ` · ${count(store.dropped)} dropped to save memory`}
        </span>
        <span class="kbd-help">
          <kbd>/</kbd> search <kbd>g</kbd>/<kbd>G</kbd> top/bottom <kbd>f</kbd> follow
        </span>
      </footer>
    </section>
  );
}

/**
 * With lines from two files or more, a path's name on its rows: what follows the directory all the
 * paths share (`a/run.log` and `b/run.log` for outputs/a/run.log and outputs/b/run.log). Null with
 * one file or none: no name shown.
 */
export function fileNamer(paths: ReadonlySet<string>): ((path: string) => string) | null {
  if (paths.size < 2) return null;
  const all = [...paths];
  let shared = all[0]!.slice(0, all[0]!.lastIndexOf('/') + 1);
  for (const path of all) while (!path.startsWith(shared)) shared = shared.slice(0, shared.slice(0, -1).lastIndexOf('/') + 1);
  return (path) => (path.startsWith(shared) ? path.slice(shared.length) : path);
}
