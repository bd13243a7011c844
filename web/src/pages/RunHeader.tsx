/**
 * The run's header. When it failed, the cause (error_message) comes first, where the eye lands;
 * the diagnostics follow, folded; the worker's GPU memory at the time sits beside the facts.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getWorker } from '../api/workers.ts';
import type { Gpu, Run } from '../api/types.ts';
import { href } from '../router.ts';
import { duration, fullTime, runSeconds, when } from '../ui/format.ts';
import { useNow } from '../ui/hooks.ts';
import { gpusOf } from '../ui/gpus.ts';
import { GpuRows } from '../ui/meter.tsx';
import { RunStatusBadge, RunWorker } from '../ui/status.tsx';
import { AnsiText } from '../viewer/AnsiText.tsx';
import { visibleBidi } from '../viewer/ansi.ts';
import { Diagnostics, gpuProbe } from './Diagnostics.tsx';
import { RunActions } from './RunActions.tsx';

export function RunHeader({ id, run, error, onChanged = () => {} }: { id: string; run: Run | null; error: string | null; onChanged?: () => void }) {
  const now = useNow();
  if (run === null) {
    return (
      <header class="run-header">
        <div class="run-title">
          <a href={href.runs()} class="crumb">
            runs
          </a>
          <span class="crumb-sep">/</span>
          <h1 class="mono">{id}</h1>
        </div>
        {error !== null && (
          <div class="error-box" data-testid="page-error">
            {error}{' '}
            <button class="retry" onClick={() => location.reload()}>
              retry
            </button>
          </div>
        )}
      </header>
    );
  }
  const seconds = runSeconds(run, now);
  const labels = Object.entries(run.labels ?? {});
  const failed = run.status === 'failed';
  return (
    <header class="run-header">
      <div class="run-title">
        <a href={href.runs()} class="crumb">
          runs
        </a>
        <span class="crumb-sep">/</span>
        <h1 title={run.id}>{visibleBidi(run.name ?? run.id)}</h1>
        <RunStatusBadge status={run.status} testId="run-status" />
        {run.name !== null && <span class="mono muted small">{run.id}</span>}
        <RunActions run={run} onChanged={onChanged} />
      </div>

      {(failed || run.status === 'cancelled') && (run.error_message !== null || run.signal !== null) && (
        <pre class="error-box" data-testid="run-error">
          {/* the job's own words (its last stderr line): shown as a line is (bidi controls written out) */}
          {run.error_message !== null ? <AnsiText text={run.error_message} /> : `killed by ${run.signal}`}
        </pre>
      )}

      <div class="facts">
        {run.command !== null && (
          <Fact label="command" grow>
            <code class="command" title={visibleBidi(run.command)}>
              {visibleBidi(run.command)}
            </code>
          </Fact>
        )}
        <Fact label="exit code">
          <span data-testid="run-exit-code" class={run.exit_code !== null && run.exit_code !== 0 ? 'bad' : ''}>
            {run.exit_code ?? run.signal ?? '–'}
          </span>
        </Fact>
        <Fact label="duration">
          <span data-testid="run-duration">{seconds === null ? '–' : duration(seconds)}</span>
        </Fact>
        {/* a task not claimed yet has not started: its time is when it was queued */}
        <Fact label={run.started_at === null ? 'queued' : 'started'}>
          <span title={fullTime(run.started_at ?? run.created_at)}>{when(run.started_at ?? run.created_at)}</span>
        </Fact>
        <Fact label="worker">
          <RunWorker run={run} />
        </Fact>
        {run.task_id !== null && (
          <Fact label="task">
            <a class="mono" href={href.logs(new URLSearchParams({ task: run.task_id }))} title="this task's worker lines">
              {run.task_id}
            </a>
          </Fact>
        )}
        {run.rerun_of != null && (
          <Fact label="re-run of">
            <a class="mono" data-testid="rerun-of" href={href.run(run.rerun_of)}>
              {run.rerun_of}
            </a>
          </Fact>
        )}
        {run.reruns !== undefined && run.reruns.length > 0 && (
          <Fact label="re-runs">
            <span data-testid="reruns">
              {run.reruns.map((rerun) => (
                <a class="mono rerun-link" key={rerun} href={href.run(rerun)}>
                  {rerun}
                </a>
              ))}
            </span>
          </Fact>
        )}
        {labels.length > 0 && (
          <Fact label="labels">
            <span class="labels">
              {labels.map(([key, value]) => (
                <span class="label" key={key}>
                  {key}={value}
                </span>
              ))}
            </span>
          </Fact>
        )}
        {run.log_path !== null && (
          <Fact label="log file" grow>
            <code class="path" title={run.log_path}>
              {run.log_path}
            </code>
          </Fact>
        )}
      </div>

      {failed && <GpuAtTheTime run={run} />}
      {run.diagnostics !== undefined && run.diagnostics !== null && <Diagnostics diagnostics={run.diagnostics} />}
    </header>
  );
}

function Fact({ label, grow, children }: { label: string; grow?: boolean; children: ComponentChildren }) {
  return (
    <div class={`fact ${grow === true ? 'grow' : ''}`}>
      <div class="fact-label">{label}</div>
      <div class="fact-value">{children}</div>
    </div>
  );
}

/** The GPU memory when the run failed: the diagnostics' gpu probe, else the worker as it is now. */
function GpuAtTheTime({ run }: { run: Run }) {
  const probe = gpuProbe(run.diagnostics);
  const [now, setNow] = useState<Gpu[] | null>(null);
  useEffect(() => {
    if (probe !== null || run.worker_id === null) return;
    const abort = new AbortController();
    getWorker(run.worker_id, abort.signal).then(
      (worker) => setNow(gpusOf(worker.gpus)),
      () => {},
    );
    return () => abort.abort();
  }, [run.worker_id, probe === null]);
  const gpus = probe ?? now;
  if (gpus === null || gpus.length === 0) return null;
  return (
    <div class="gpu-at-time" data-testid="run-gpu">
      <div class="fact-label">{probe !== null ? 'GPU memory when it failed' : `GPU memory of ${run.worker_id} now`}</div>
      <GpuRows gpus={gpus} />
    </div>
  );
}
