/**
 * The workers, one card each: status and the age of the last heartbeat, GPU memory and
 * utilisation per GPU, the current task, the last lines. Live: `worker` events from /api/events
 * (one per heartbeat) replace a worker's card and refresh its lines.
 */
import { TaskRef } from '../ui/task.tsx';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, thisHubUrl } from '../api/http.ts';
import { listWorkers, systemLogs } from '../api/workers.ts';
import type { SystemLog, Worker, WorkerStatus } from '../api/types.ts';
import { href } from '../router.ts';
import { ago, clock, count, mib } from '../ui/format.ts';
import { useLiveStream, useNow } from '../ui/hooks.ts';
import { gpusOf } from '../ui/gpus.ts';
import { GpuRows, Meter } from '../ui/meter.tsx';
import { LevelBadge, WorkerStatusBadge } from '../ui/status.tsx';
import { LiveDot } from '../ui/LiveDot.tsx';
import { AnsiText } from '../viewer/AnsiText.tsx';
import { plainText, visibleBidi } from '../viewer/ansi.ts';

const RECENT_LINES = 20;
/** a worker's lines are re-read at most this often (heartbeats come every 20 s by default) */
const LINES_REFRESH_MS = 5_000;

interface Seen {
  worker: Worker;
  /** Date.now() when this state arrived: the heartbeat's age grows from there */
  at: number;
}

export function WorkersPage({ query }: { query: URLSearchParams }) {
  const focus = query.get('worker');
  const [workers, setWorkers] = useState<Map<string, Seen> | null>(null);
  const [lines, setLines] = useState<Map<string, SystemLog[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const linesFetched = useRef(new Map<string, number>());
  // a heartbeat inside the window is read when the window ends, not skipped: its lines (a worker's
  // last flush at exit, say) would otherwise wait for a next heartbeat that may never come
  const linesDue = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  // each worker's newest read: an older answer arriving after it must not put older lines back
  const linesAsked = useRef(new Map<string, number>());
  const now = useNow();

  const refreshLines = (id: string, force = false) => {
    const wait = force ? 0 : (linesFetched.current.get(id) ?? 0) + LINES_REFRESH_MS - Date.now();
    if (wait > 0) {
      if (!linesDue.current.has(id)) linesDue.current.set(id, setTimeout(() => refreshLines(id, true), wait));
      return;
    }
    clearTimeout(linesDue.current.get(id));
    linesDue.current.delete(id);
    linesFetched.current.set(id, Date.now());
    const asked = (linesAsked.current.get(id) ?? 0) + 1;
    linesAsked.current.set(id, asked);
    systemLogs({ source_id: id, limit: RECENT_LINES }).then(
      (logs) => {
        if (linesAsked.current.get(id) === asked) setLines((current) => new Map(current).set(id, logs.slice().reverse()));
      },
      () => {},
    );
  };
  useEffect(() => () => {
    for (const timer of linesDue.current.values()) clearTimeout(timer);
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    listWorkers(abort.signal).then(
      (list) => {
        const at = Date.now();
        setWorkers(new Map(list.map((worker) => [worker.id, { worker, at }])));
        setError(null);
        for (const worker of list) refreshLines(worker.id, true);
      },
      (failure: unknown) => {
        if (!abort.signal.aborted) setError(messageOf(failure));
      },
    );
    return () => abort.abort();
  }, [reloads]);

  const state = useLiveStream(
    'api/events',
    {
      worker: (data) => {
        const worker = data as Worker;
        setWorkers((current) => new Map(current ?? []).set(worker.id, { worker, at: Date.now() }));
        refreshLines(worker.id);
      },
    },
    () => setReloads((n) => n + 1),
  );

  useEffect(() => {
    if (focus === null || workers === null) return;
    document.getElementById(`worker-${focus}`)?.scrollIntoView({ block: 'nearest' });
  }, [focus, workers !== null]);

  // each worker's status now, by its heartbeat's age: a worker that stopped beating sends nothing,
  // so the status the hub last gave stays "active" (the summary counted it so, beside a card
  // saying offline)
  const ageOf = ({ worker, at }: Seen) => (worker.last_heartbeat_age_s === null ? null : worker.last_heartbeat_age_s + (now - at) / 1000);
  const list = workers === null ? [] : [...workers.values()].map((seen) => ({ ...seen, status: liveStatus(seen.worker, ageOf(seen)) })).sort(byStatusThenId);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Workers</h1>
        <LiveDot state={state} />
        <span class="spacer" />
        {workers !== null && <span class="muted small">{summary(list)}</span>}
      </div>
      {error !== null && <div class="error-box">{error}</div>}
      {workers !== null && list.length === 0 && (
        <div class="empty muted" data-testid="workers-empty">
          No workers have sent a heartbeat yet. Start one with <code>runlog worker --id NAME --hub {thisHubUrl()}</code>
        </div>
      )}
      <div class="cards">
        {list.map(({ worker, at }) => (
          <WorkerCard
            key={worker.id}
            worker={worker}
            age={ageOf({ worker, at })}
            lines={lines.get(worker.id)}
            focused={worker.id === focus}
          />
        ))}
      </div>
    </div>
  );
}

function WorkerCard({ worker, age, lines, focused }: { worker: Worker; age: number | null; lines: SystemLog[] | undefined; focused: boolean }) {
  // the hub's rule (store.ts): stale after 2 missed heartbeats, offline after 5; ages grow here
  const status = liveStatus(worker, age);
  const gone = status === 'offline';
  // as the worker sent them: cleaned before they are drawn
  const gpus = gpusOf(worker.gpus);
  return (
    <article class={`card worker-card ${focused ? 'focused' : ''}`} id={`worker-${worker.id}`} data-testid="worker-card" data-worker-id={worker.id}>
      <header class="card-head">
        <WorkerStatusBadge status={status} />
        <h2 class="mono">{worker.id}</h2>
        <span class="spacer" />
        <span class="muted small" title={worker.last_heartbeat ?? 'no heartbeat has reached runlog'} data-testid="heartbeat-age">
          heartbeat {age === null ? 'never' : ago(age)}
        </span>
      </header>
      <div class="card-facts small">
        {/* an offline worker's state and task are what its last heartbeat said, not what it does now */}
        <span class={`state state-${gone ? 'offline' : worker.state}`} data-testid="worker-state" title={gone ? 'as its last heartbeat said' : undefined}>
          {gone && worker.state !== 'offline' ? `was ${worker.state}` : worker.state}
        </span>
        {worker.current_task_id !== null ? (
          <span>
            {gone ? 'last task' : 'task'}{' '}
            <TaskRef id={worker.current_task_id} class="mono" testId="worker-task" />
          </span>
        ) : (
          <span class="muted">no task</span>
        )}
        {worker.vram_total_mb !== null && (
          <span class="muted">
            VRAM {mib(worker.vram_used_mb)} / {mib(worker.vram_total_mb)}
          </span>
        )}
        {(worker.dropped_logs ?? 0) > 0 && <span class="bad">{count(worker.dropped_logs ?? 0)} lines dropped</span>}
      </div>
      {gpus.length > 0 ? (
        <GpuRows gpus={gpus} />
      ) : worker.vram_total_mb !== null ? (
        <Meter used={worker.vram_used_mb} total={worker.vram_total_mb} label="VRAM" />
      ) : (
        <div class="muted small">no GPU</div>
      )}
      <div class="worker-lines" data-testid="worker-lines">
        {lines === undefined ? (
          <div class="muted small">…</div>
        ) : lines.length === 0 ? (
          <div class="muted small">no lines</div>
        ) : (
          lines.map((line) => (
            <div class={`mini-line lvl-${line.level.toLowerCase()}`} key={line.id}>
              <span class="ts">{clock(line.timestamp)}</span>
              <LevelBadge level={line.level} />
              <span class="msg" title={visibleBidi(plainText(line.message))}>
                <AnsiText text={line.message} />
              </span>
            </div>
          ))
        )}
      </div>
      <footer class="card-foot small">
        <a href={href.logs(new URLSearchParams({ worker: worker.id }))}>all lines →</a>
      </footer>
    </article>
  );
}

function liveStatus(worker: Worker, age: number | null): WorkerStatus {
  if (age === null || worker.status === 'offline' || worker.state === 'offline') return 'offline';
  const missed = age / Math.max(1, worker.heartbeat_interval_s);
  if (missed > 5) return 'offline';
  if (missed > 2) return 'stale';
  return 'active';
}

const ORDER: Record<WorkerStatus, number> = { active: 0, stale: 1, offline: 2 };
type SeenNow = Seen & { status: WorkerStatus };
function byStatusThenId(a: SeenNow, b: SeenNow): number {
  return ORDER[a.status] - ORDER[b.status] || a.worker.id.localeCompare(b.worker.id);
}

function summary(list: SeenNow[]): string {
  const by = (status: WorkerStatus) => list.filter((seen) => seen.status === status).length;
  return `${by('active')} active · ${by('stale')} stale · ${by('offline')} offline`;
}
