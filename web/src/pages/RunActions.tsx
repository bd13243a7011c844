/**
 * What can be done to a run from its page: Cancel (queued, or running after a confirm), Delete (ended, after a
 * confirm), Re-run (an ended task). Each button carries `data-action` so the page can hide those
 * the signed-in token has no scope for; the hub checks the scope anyway.
 */
import { useState } from 'preact/hooks';
import { cancelRun, deleteRun, rerunRun } from '../api/runs.ts';
import { messageOf } from '../api/http.ts';
import { FINAL_STATUSES, type Run } from '../api/types.ts';
import { href } from '../router.ts';
import { useCan } from '../api/session.ts';

export function RunActions({ run, onChanged }: { run: Run; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ended = FINAL_STATUSES.includes(run.status);
  // buttons the signed-in token has no scope for are not shown (the hub refuses them anyway)
  const can = useCan();
  const mayCancel = can('submit') || can('write');

  const act = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  const cancel = () => {
    // a running command is stopped and its progress lost: one stray click must not do that (a
    // queued one never started, and Re-run queues it again)
    if (run.status === 'running' && !confirm(`Cancel run ${run.id}? Its command is stopped (SIGTERM, then SIGKILL 10 s later).`)) return;
    void act(async () => {
      await cancelRun(run.id);
      onChanged();
    });
  };
  const remove = () => {
    if (!confirm(`Delete run ${run.id} and its ${run.line_count.toLocaleString('en-US')} lines? This cannot be undone.`)) return;
    void act(async () => {
      await deleteRun(run.id);
      location.hash = href.runs();
    });
  };
  const rerun = () =>
    act(async () => {
      const next = await rerunRun(run.id);
      location.hash = href.run(next.id);
    });

  return (
    <div class="run-actions">
      {!ended && run.cancel_requested_by == null && mayCancel && (
        <button data-action="cancel" disabled={busy} onClick={cancel} title="queued: it never runs; running: its runner stops the command">
          Cancel
        </button>
      )}
      {!ended && run.cancel_requested_by != null && (
        <span class="muted small" data-testid="cancel-requested">
          cancel requested by {run.cancel_requested_by}
        </span>
      )}
      {ended && run.is_task === true && can('submit') && (
        <button data-action="rerun" disabled={busy} onClick={() => void rerun()} title="queue this task's command again as a new run">
          Re-run
        </button>
      )}
      {ended && can('admin') && (
        <button data-action="delete" class="danger" disabled={busy} onClick={remove} title="delete this run and its lines">
          Delete
        </button>
      )}
      {error !== null && (
        <span class="bad small" data-testid="action-error">
          {error}
        </span>
      )}
    </div>
  );
}
