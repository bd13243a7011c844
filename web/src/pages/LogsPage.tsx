/**
 * The workers' own lines (`system_logs`), newest first, with filters (worker, task, level, time
 * range, text: all applied by the hub) and a live toggle (/api/logs/stream: new lines appear at
 * the top, filtered here the same way). Filters live in the URL, so a view can be shared.
 * With `scope=all`, the same filters (and a label) search the lines of every run and worker
 * (/api/search, see SearchResults), each result linking to its line.
 */
import { TaskRef } from '../ui/task.tsx';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { messageOf } from '../api/http.ts';
import { listWorkers, systemLogs, systemLogStreamUrl } from '../api/workers.ts';
import { LEVELS, parseLevel, type SystemLog } from '../api/types.ts';
import { href, replaceHash } from '../router.ts';
import { count, fullTime, when } from '../ui/format.ts';
import { NARROW, useKeys, useLiveStream, useMedia, useSetting } from '../ui/hooks.ts';
import { LevelBadge } from '../ui/status.tsx';
import { LiveDot } from '../ui/LiveDot.tsx';
import { ansiNodes } from '../viewer/AnsiText.tsx';
import { matcher } from '../viewer/filter.ts';
import { useRemeasure, useVirtualizer } from '../viewer/virtual.ts';
import { textLines } from '../viewer/rows.ts';
import { copyRows } from '../viewer/copy.ts';
import { SearchResults } from './SearchResults.tsx';

const PAGE = 500;
/** live lines kept at most: older ones fall off the bottom */
const LIVE_CAP = 5_000;
const RANGES = [
  ['', 'any time'],
  ['15m', 'last 15 min'],
  ['1h', 'last hour'],
  ['6h', 'last 6 h'],
  ['24h', 'last 24 h'],
  ['7d', 'last 7 days'],
] as const;
const ROW_PX = 20;

export function LogsPage({ query }: { query: URLSearchParams }) {
  const worker = query.get('worker') ?? '';
  const task = query.get('task') ?? '';
  const levelText = (query.get('level') ?? '').trim();
  const level = parseLevel(levelText);
  // what the hub is asked: a level that does not parse goes as given, and its 400 says why (as
  // since= and until= do), rather than being dropped and every line shown
  const levelArg = level ?? (levelText === '' ? undefined : levelText);
  const since = query.get('since') ?? '';
  const until = query.get('until') ?? '';
  const q = query.get('q') ?? '';
  const live = query.get('live') === '1';
  const everywhere = query.get('scope') === 'all';
  const labelFilter = query.get('label') ?? '';
  // one preference with the run page's "wrap": long lines wrapped, or one line each (scrolled sideways)
  const [wrap, setWrap] = useSetting<boolean>('wrap', false);

  const [lines, setLines] = useState<SystemLog[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [workerIds, setWorkerIds] = useState<string[]>([]);
  const [reloads, setReloads] = useState(0);
  const [qText, setQText] = useState(q);
  const [taskText, setTaskText] = useState(task);
  const [labelText, setLabelText] = useState(labelFilter);
  // the older page being loaded: one at a time, and dropped when the filters change (its lines
  // belong to the old ones)
  const older = useRef<AbortController | null>(null);
  const qRef = useRef<HTMLInputElement>(null);
  // the run page's key for its search
  useKeys({ '/': () => qRef.current?.focus() });

  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value === '') next.delete(key);
    else next.set(key, value);
    replaceHash(href.logs(next));
  };

  useEffect(() => setQText(q), [q]);
  useEffect(() => setTaskText(task), [task]);
  useEffect(() => setLabelText(labelFilter), [labelFilter]);

  useEffect(() => {
    listWorkers().then((list) => setWorkerIds(list.map((w) => w.id).sort()), () => {});
  }, []);

  const filterParams = { source_id: worker || undefined, task_id: task || undefined, level: levelArg, since: since || undefined, until: toIso(until), q: q || undefined };

  useEffect(() => {
    if (everywhere) return;
    const abort = new AbortController();
    setLines(null);
    systemLogs({ ...filterParams, limit: PAGE }, abort.signal).then(
      (logs) => {
        setLines(logs);
        setMore(logs.length === PAGE);
        setError(null);
      },
      (failure: unknown) => {
        if (!abort.signal.aborted) {
          setError(messageOf(failure));
          setLines([]);
        }
      },
    );
    return () => {
      abort.abort();
      older.current?.abort();
      older.current = null;
    };
  }, [worker, task, levelArg, since, until, q, reloads, everywhere]);

  const loadOlder = () => {
    const oldest = lines?.[lines.length - 1];
    if (oldest === undefined || older.current !== null) return;
    const abort = new AbortController();
    older.current = abort;
    const done = () => {
      if (older.current === abort) older.current = null;
    };
    // by the oldest row's id, not its time: more than a page of lines may share one timestamp
    systemLogs({ ...filterParams, before: oldest.id, limit: PAGE }, abort.signal).then(
      (logs) => {
        done();
        if (abort.signal.aborted) return;
        setLines((current) => {
          const have = new Set((current ?? []).map((line) => line.id));
          return [...(current ?? []), ...logs.filter((line) => !have.has(line.id))];
        });
        setMore(logs.length === PAGE);
      },
      (failure: unknown) => {
        done();
        if (!abort.signal.aborted) setError(messageOf(failure));
      },
    );
  };

  // live lines pass the same filters here; a fixed `until` means a past window: nothing live
  const matches = useMemo(() => matcher({ level, q }), [level, q]);
  const pendingLive = useRef<SystemLog[]>([]);
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // nor with a level that is none: the hub refused the query, and the stream would send every line
  const liveOn = live && until === '' && !everywhere && levelArg === (level ?? undefined);
  const state = useLiveStream(
    liveOn ? systemLogStreamUrl(worker || undefined, level ?? undefined) : null,
    {
      log: (data) => {
        const line = data as SystemLog;
        if (task !== '' && line.task_id !== task) return;
        if (!matches(line)) return;
        pendingLive.current.push(line);
        // batched: a burst of lines is one render
        flushTimer.current ??= setTimeout(() => {
          flushTimer.current = null;
          const batch = pendingLive.current.reverse();
          pendingLive.current = [];
          // a line may be in the list already: read again after the stream came back, which sent it too
          setLines((current) => {
            const have = new Set((current ?? []).map((line) => line.id));
            return [...batch.filter((line) => !have.has(line.id)), ...(current ?? [])].slice(0, LIVE_CAP);
          });
        }, 250);
      },
    },
    () => setReloads((n) => n + 1),
  );
  useEffect(() => () => {
    if (flushTimer.current !== null) clearTimeout(flushTimer.current);
  }, []);

  return (
    <div class="page logs-page">
      <div class="page-head">
        <h1>{everywhere ? 'Logs: every run and worker' : 'Worker logs'}</h1>
        {liveOn && <LiveDot state={state} />}
        <span class="spacer" />
        <label class="switch" title="wrap long lines">
          <input type="checkbox" checked={wrap} data-testid="logs-wrap" onChange={(event) => setWrap(event.currentTarget.checked)} />
          wrap
        </label>
        <label class="switch" title={until !== '' ? 'a fixed end time: nothing live' : everywhere ? 'the search across runs is not live' : 'new lines appear at the top'}>
          <input type="checkbox" checked={live} disabled={until !== '' || everywhere} data-testid="logs-live" onChange={(event) => setParam('live', event.currentTarget.checked ? '1' : '')} />
          live
        </label>
      </div>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const next = new URLSearchParams(query);
          for (const [key, value] of [['q', qText.trim()], ['task', taskText.trim()], ['label', labelText.trim()]] as const) {
            if (value === '') next.delete(key);
            else next.set(key, value);
          }
          replaceHash(href.logs(next));
          // the same filters applied again read again: lines came since (neither view is live then)
          setReloads((n) => n + 1);
        }}
      >
        <select value={everywhere ? 'all' : ''} data-testid="logs-scope" aria-label="whose lines" onChange={(event) => setParam('scope', event.currentTarget.value)} title="whose lines">
          <option value="">worker lines</option>
          <option value="all">all runs and workers</option>
        </select>
        {everywhere ? (
          <input class="task" placeholder="label k=v" value={labelText} data-testid="logs-label" onInput={(event) => setLabelText(event.currentTarget.value)} onBlur={(event) => setParam('label', event.currentTarget.value.trim())} />
        ) : (
          <>
            <select value={worker} data-testid="logs-worker" aria-label="worker" onChange={(event) => setParam('worker', event.currentTarget.value)}>
              <option value="">all workers</option>
              {[...new Set([...workerIds, ...(worker === '' ? [] : [worker])])].map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
            <input class="task" placeholder="task id" aria-label="task id" value={taskText} data-testid="logs-task" onInput={(event) => setTaskText(event.currentTarget.value)} onBlur={(event) => setParam('task', event.currentTarget.value.trim())} />
          </>
        )}
        <select value={level ?? levelText} data-testid="logs-level" aria-label="level" onChange={(event) => setParam('level', event.currentTarget.value)}>
          <option value="">all levels</option>
          {LEVELS.slice(1).map((value) => (
            <option key={value} value={value}>
              {value.toLowerCase()} +
            </option>
          ))}
          {/* a level from a link that is none (level=loud): shown as given, the hub's error says why */}
          {level === null && levelText !== '' && <option value={levelText}>{levelText}?</option>}
        </select>
        <select value={since} data-testid="logs-since" aria-label="from" onChange={(event) => setParam('since', event.currentTarget.value)} title="from">
          {RANGES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
          {/* a time from a link or typed in the URL (since=2d), applied as given: shown as such */}
          {!RANGES.some(([value]) => value === since) && <option value={since}>{/^\d+[smhdw]$/.test(since) ? `last ${since}` : `since ${since}`}</option>}
        </select>
        <label class="small muted until">
          until
          <input type="datetime-local" step="1" value={until} data-testid="logs-until" onChange={(event) => setParam('until', event.currentTarget.value)} />
        </label>
        {/* the browser's date box has no clear button: back to the newest lines (and live) in one click */}
        {until !== '' && (
          <button type="button" class="clear-until" data-testid="logs-until-clear" title="no end time: the newest lines" onClick={() => setParam('until', '')}>
            ×
          </button>
        )}
        <input ref={qRef} type="search" class="q" placeholder="text   /" aria-label="text" value={qText} data-testid="logs-q" onInput={(event) => setQText(event.currentTarget.value)} />
        <button type="submit">apply</button>
      </form>
      {everywhere ? (
        <SearchResults query={{ q: q || undefined, level: levelArg, since: since || undefined, until: toIso(until), label: labelFilter || undefined }} wrap={wrap} reloads={reloads} />
      ) : (
        <>
          {error !== null && <div class="error-box">{error}</div>}
          {/* a refused query has no lines to say "no line matches" about: the error says why; an
              older page that failed keeps the lines shown */}
          {(error === null || (lines?.length ?? 0) > 0) && <SystemLogList lines={lines} more={more} onMore={loadOlder} showWorker={worker === ''} wrap={wrap} search={q} filtered={[worker, task, levelText, since, until, q].some((value) => value !== '')} />}
        </>
      )}
    </div>
  );
}

function SystemLogList(props: { lines: SystemLog[] | null; more: boolean; onMore: () => void; showWorker: boolean; wrap: boolean; search: string; filtered: boolean }) {
  const { lines, more, onMore, showWorker, wrap, search, filtered } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const rows = lines ?? [];
  // narrow, the message is a line under the row's others: one line more, and measured as drawn
  const stacked = useMedia(NARROW);
  const measured = wrap || stacked;
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    // a message with line ends (a worker's exception with its traceback) is that many lines tall
    estimateSize: (index) => ROW_PX * (textLines(rows[index]?.message ?? '') + (stacked ? 1 : 0)),
    getItemKey: (index) => rows[index]?.id ?? index,
    overscan: 30,
  });
  // wrapped, a row is as tall as it draws: measured (the estimate counts only line ends)
  useRemeasure(virtualizer, measured, [wrap, stacked]);
  if (lines === null) return <div class="empty muted">loading…</div>;
  if (lines.length === 0) {
    return (
      <div class="empty muted" data-testid="logs-empty">
        {filtered ? 'No line matches these filters.' : 'No worker lines yet: the lines workers send with their heartbeats (runlog worker, runlog.Worker in Python, func_worker_heartbeat_with_logs) show here.'}
      </div>
    );
  }
  return (
    <div class={`viewer ${wrap ? 'wrap' : 'nowrap'} system-logs`}>
      <div class="log-frame">
        <div class="log-scroll" ref={scrollRef} onCopy={copyRows} data-testid="logs-scroll">
          <div class="log-sizer" style={{ height: `${virtualizer.getTotalSize() + (more ? 40 : 0)}px` }}>
            {virtualizer.getVirtualItems().map((item) => {
              const line = rows[item.index];
              if (line === undefined) return null;
              return (
                <div
                  key={line.id}
                  class={`row line lvl-${line.level.toLowerCase()}`}
                  style={measured ? { transform: `translateY(${item.start}px)` } : { transform: `translateY(${item.start}px)`, height: `${item.size}px` }}
                  data-index={item.index}
                  ref={measured ? virtualizer.measureElement : undefined}
                  data-testid="system-log-row"
                >
                  <span class="ts wide" title={fullTime(line.timestamp)}>
                    {when(line.timestamp)}
                  </span>
                  {showWorker && (
                    <a class="src mono" href={href.workers(line.source_id)} title={line.source_id}>
                      {line.source_id}
                    </a>
                  )}
                  <LevelBadge level={line.level} />
                  <span class="task-cell">
                    {line.task_id !== null && (
                      <TaskRef id={line.task_id} class="task-chip mono" />
                    )}
                  </span>
                  <span class="msg">
                    {ansiNodes(line.message, search)}
                  </span>
                </div>
              );
            })}
            {more && (
              <div class="row gap" style={{ transform: `translateY(${virtualizer.getTotalSize()}px)` }}>
                <button class="gap-button" onClick={onMore}>
                  ↓ older lines · load {count(PAGE)} more
                </button>
              </div>
            )}
          </div>
        </div>
      </div>
    </div>
  );
}

/**
 * datetime-local (local time, no zone) → ISO UTC for the hub. Anything else (a link's until=2h, or
 * until=yesterday) goes as given: the hub takes a duration or an epoch, and its 400 says what is
 * wrong with the rest, as it does for since= (dropped, it showed every line up to now unexplained)
 */
function toIso(local: string): string | undefined {
  if (local === '') return undefined;
  const ms = Date.parse(local);
  return Number.isNaN(ms) ? local : new Date(ms).toISOString();
}
