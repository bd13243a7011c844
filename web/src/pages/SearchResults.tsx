/**
 * The Logs page's "all runs" view: lines of every run and worker that match, newest first
 * (GET /api/search), each linking to its line in its run (#/runs/<id>/L<seq>) or to its worker.
 */
import { TaskRef } from '../ui/task.tsx';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from '../api/http.ts';
import { searchLines, type SearchMatch, type SearchQuery } from '../api/search.ts';
import { href } from '../router.ts';
import { count, fullTime, when } from '../ui/format.ts';
import { LevelBadge } from '../ui/status.tsx';
import { ansiNodes } from '../viewer/AnsiText.tsx';
import { copyRows } from '../viewer/copy.ts';

const PAGE = 200;

/** `reloads`: bumped when the search is applied again, which searches again (the results are not live) */
export function SearchResults({ query, wrap, reloads }: { query: Omit<SearchQuery, 'limit'>; wrap: boolean; reloads: number }) {
  const [lines, setLines] = useState<SearchMatch[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(query);
  // the older page being loaded: one at a time (a double click must not add a page twice), and
  // dropped when the search changes (its lines belong to the old one)
  const older = useRef<AbortController | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  // an older page that failed: said beside the button (a retry), the lines shown stay
  const [olderError, setOlderError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    setLines(null);
    searchLines({ ...query, limit: PAGE }, abort.signal).then(
      (page) => {
        setLines(page.logs);
        setMore(page.truncated);
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
      setLoadingOlder(false);
      setOlderError(null);
    };
  }, [key, reloads]);

  const loadOlder = () => {
    const oldest = lines?.[lines.length - 1];
    if (oldest === undefined || older.current !== null) return;
    const abort = new AbortController();
    older.current = abort;
    setLoadingOlder(true);
    setOlderError(null);
    const done = () => {
      if (older.current !== abort) return;
      older.current = null;
      setLoadingOlder(false);
    };
    // the last line is the cursor: the next page starts right after it, even among lines of one µs
    searchLines({ ...query, until: oldest.timestamp, before: idOf(oldest), limit: PAGE }, abort.signal).then(
      (page) => {
        if (abort.signal.aborted) return;
        setLines((current) => {
          const have = new Set((current ?? []).map(idOf));
          return [...(current ?? []), ...page.logs.filter((line) => !have.has(idOf(line)))];
        });
        setMore(page.truncated);
        done();
      },
      (failure: unknown) => {
        if (abort.signal.aborted) return;
        setOlderError(messageOf(failure));
        done();
      },
    );
  };

  if (error !== null) return <div class="error-box">{error}</div>;
  if (lines === null) return <div class="empty muted">searching…</div>;
  if (lines.length === 0) {
    const filtered = Object.values(query).some((value) => value !== undefined && value !== '');
    return (
      <div class="empty muted" data-testid="logs-empty">
        {filtered ? 'No line matches these filters.' : 'No lines yet: the lines of every run and worker show here.'}
      </div>
    );
  }
  return (
    <div class={`viewer ${wrap ? 'wrap' : 'nowrap'} system-logs search-results`}>
      <div class="log-frame">
        <div class="log-scroll" onCopy={copyRows} data-testid="search-scroll">
          {lines.map((line) => (
            <div key={idOf(line)} class={`row line static lvl-${line.level.toLowerCase()}`} data-testid="search-row">
              <span class="ts wide" title={fullTime(line.timestamp)}>
                {when(line.timestamp)}
              </span>
              {line.run_id !== undefined ? (
                <a class="src mono" href={href.run(line.run_id, line.seq)} title={`run ${line.run_id}, line ${line.seq}`}>
                  {line.run_id}#L{line.seq}
                </a>
              ) : (
                // the worker's lines at this one (its card shows only the last few)
                <a class="src mono" href={href.workerLine(line.worker_id ?? '', line.timestamp)} title={`worker ${line.worker_id ?? ''}: its lines from this one`}>
                  {line.worker_id}
                </a>
              )}
              <LevelBadge level={line.level} />
              <span class="msg">
                {/* in the message, not a column of its own: the messages of runs' lines (no task) stay aligned */}
                {line.task_id != null && (
                  <>
                    <TaskRef id={line.task_id} class="task-chip mono" />
                    {/* a space, not only a margin: copied, the chip and the message stay two words ("task-7 hello", not "task-7hello") */}
                    {' '}
                  </>
                )}
                {/* the matches marked, as in the run page's search */}
                {ansiNodes(line.message, query.q ?? '')}
                {/* as on the run page: the line is not all the job printed */}
                {line.attrs?.truncated === true && <span class="cut" title="cut at the hub's line limit"> [truncated]</span>}
              </span>
            </div>
          ))}
          {more && (
            <div class="row gap static">
              <button class="gap-button" onClick={loadOlder} disabled={loadingOlder}>
                {loadingOlder ? 'loading older lines…' : `↓ older lines · load ${count(PAGE)} more`}
              </button>
              {olderError !== null && (
                <span class="error-text" data-testid="search-older-error">
                  {olderError}
                </span>
              )}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

function idOf(line: SearchMatch): string {
  return `${line.stream}/${line.seq}`;
}
