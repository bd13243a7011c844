/**
 * The runs, newest first, filtered by status and text on the hub (so the filter reaches every run,
 * not only the newest loaded). Live: `run` events from /api/events add new runs and move statuses
 * along; a new run shows only if it matches the text, checked here the way the hub does.
 */
import { useEffect, useState } from 'preact/hooks';
import { messageOf, thisHubUrl } from '../api/http.ts';
import { listRuns } from '../api/runs.ts';
import { RUN_STATUSES, type Run, type RunStatus } from '../api/types.ts';
import { href, replaceHash } from '../router.ts';
import { duration, fullTime, runSeconds, when } from '../ui/format.ts';
import { useDebounced, useLiveStream, useNow } from '../ui/hooks.ts';
import { RunStatusBadge, RunWorker } from '../ui/status.tsx';
import { LiveDot } from '../ui/LiveDot.tsx';
import { visibleBidi } from '../viewer/ansi.ts';

const LIMIT = 500;
/** ms of no typing before the text filter goes to the hub */
const FILTER_DELAY_MS = 250;

export function RunsPage({ query }: { query: URLSearchParams }) {
  const statusParam = query.get('status') ?? '';
  const status = (RUN_STATUSES as readonly string[]).includes(statusParam) ? (statusParam as RunStatus) : undefined;
  const text = query.get('q') ?? '';
  const needle = useDebounced(text.trim(), FILTER_DELAY_MS);
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const now = useNow();

  useEffect(() => {
    const abort = new AbortController();
    listRuns({ status, q: needle, limit: LIMIT }, abort.signal).then(
      (list) => {
        setRuns(list);
        setError(null);
      },
      (failure: unknown) => {
        if (!abort.signal.aborted) setError(messageOf(failure));
      },
    );
    return () => abort.abort();
  }, [status, needle, reloads]);

  const state = useLiveStream(
    'api/events',
    {
      run: (data) => {
        const run = data as Run;
        setRuns((current) => {
          if (current === null) return current;
          const rest = current.filter((candidate) => candidate.id !== run.id);
          if ((status !== undefined && run.status !== status) || !matches(run, needle)) return rest;
          return [run, ...rest].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0)).slice(0, LIMIT);
        });
      },
    },
    () => setReloads((n) => n + 1),
  );

  const setQuery = (key: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value === '') next.delete(key);
    else next.set(key, value);
    replaceHash(href.runs(next));
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Runs</h1>
        <LiveDot state={state} />
        <span class="spacer" />
        <input
          type="search"
          class="filter-text"
          placeholder="filter: name, command, worker, label"
          aria-label="filter runs by name, command, worker or label"
          value={text}
          data-testid="runs-filter"
          onInput={(event) => setQuery('q', event.currentTarget.value)}
        />
        <div class="segmented" role="group" aria-label="status" data-testid="runs-status-filter">
          <button class={status === undefined ? 'on' : ''} onClick={() => setQuery('status', '')}>
            all
          </button>
          {RUN_STATUSES.map((value) => (
            <button key={value} class={status === value ? 'on' : ''} onClick={() => setQuery('status', value)} data-status={value}>
              {value}
            </button>
          ))}
        </div>
      </div>
      {error !== null && <div class="error-box">{error}</div>}
      <div class="table-wrap">
        <table class="runs grid-table" data-testid="runs-table">
          <thead>
            <tr>
              <th class="col-status">status</th>
              <th>name</th>
              <th>command</th>
              <th>worker</th>
              <th>started</th>
              <th class="num">duration</th>
              <th class="num">exit</th>
            </tr>
          </thead>
          <tbody>
            {(runs ?? []).map((run) => (
              <tr
                key={run.id}
                data-testid="run-row"
                data-run-id={run.id}
                class={`clickable status-row-${run.status}`}
                onClick={(event) => {
                  if ((event.target as HTMLElement).closest('a') === null) location.hash = href.run(run.id);
                }}
              >
                <td class="col-status">
                  <RunStatusBadge status={run.status} />
                </td>
                <td class="name">
                  <a href={href.run(run.id)}>{visibleBidi(run.name ?? run.id)}</a>
                  {run.name !== null && <div class="muted small mono">{run.id}</div>}
                </td>
                <td class="command mono" title={visibleBidi(run.command ?? '')}>
                  {visibleBidi(run.command ?? '')}
                </td>
                <td>
                  <RunWorker run={run} />
                </td>
                <td title={fullTime(run.started_at ?? run.created_at)}>{when(run.started_at ?? run.created_at)}</td>
                <td class="num">{duration(runSeconds(run, now))}</td>
                <td class={`num ${run.exit_code !== null && run.exit_code !== 0 ? 'bad' : ''}`}>{run.exit_code ?? run.signal ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {runs !== null && runs.length === 0 && (
          <div class="empty muted" data-testid="runs-empty">
            {status === undefined && needle === '' ? (
              <>
                No runs yet. Start one with <code>runlog run --hub {thisHubUrl()} -- python train.py</code>
              </>
            ) : (
              'No run matches this filter.'
            )}
          </div>
        )}
        {runs === null && error === null && <div class="empty muted">loading…</div>}
        {runs !== null && runs.length >= LIMIT && (
          // the hub gives the newest LIMIT: say so, rather than let the oldest go unseen
          <div class="empty muted small" data-testid="runs-capped">
            Showing the newest {LIMIT} runs. Filter by status or text to reach older ones.
          </div>
        )}
      </div>
    </div>
  );
}

/** The hub's text filter (GET /api/runs?q=), for runs that arrive live. */
function matches(run: Run, needle: string): boolean {
  if (needle === '') return true;
  const lower = needle.toLowerCase();
  const labels = Object.entries(run.labels ?? {});
  return (
    [run.id, run.name, run.command, run.worker_id, run.task_id, JSON.stringify(run.labels ?? {})].some((field) => field?.toLowerCase().includes(lower)) ||
    labels.some(([key, value]) => `${key}=${value}`.toLowerCase() === lower)
  );
}
