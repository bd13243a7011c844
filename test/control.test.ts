/** Issue 9, the hub's side: leases, cancel, delete, re-run, through the API and the CLI. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseFile } from '../src/core/config.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import type { Run } from '../src/store/store.js';
import { cli, tempDir, waitFor } from './helpers.js';

let hubs: RunningHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.map((hub) => hub.close().catch(() => {})));
  hubs = [];
});

/** A hub whose housekeeping looks every 100 ms: a lease of 1 s runs out in 3. */
async function newHub(dataDir = tempDir()): Promise<RunningHub> {
  const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir, housekeepingMs: 100, ssePingMs: 1000 });
  hubs.push(hub);
  return hub;
}

async function api<T = Run>(hub: string, method: string, path: string, body?: unknown, writerKey?: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${hub}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(writerKey === undefined ? {} : { 'x-runlog-writer': writerKey }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

const getRun = async (hub: string, id: string) => (await api(hub, 'GET', `/api/runs/${id}`)).body;
const line = (seq: number, message = `line ${seq}`) => ({ seq, timestamp: new Date().toISOString(), level: 'INFO', message });

/** The events of one kind an SSE stream sends, as they come. */
function listen(url: string, type: string): { events: unknown[]; open: () => boolean; close: () => void } {
  const events: unknown[] = [];
  const source = new EventSource(url);
  source.addEventListener(type, (event) => events.push(JSON.parse(event.data)));
  return { events, open: () => source.readyState === EventSource.OPEN, close: () => source.close() };
}

describe('leases', () => {
  it("fails a run whose writer has been silent for 3 leases, live, and lets the writer's real end replace that verdict", async () => {
    const hub = await newHub();
    expect((await api(hub.url, 'POST', '/api/runs', { id: 'quiet', lease_s: 1 })).body).toMatchObject({ lease_s: 1, lost: false });
    const viewer = listen(`${hub.url}/api/runs/quiet/logs/stream`, 'end');
    const runsPage = listen(`${hub.url}/api/events`, 'run');
    try {
      const failed = await waitFor(async () => {
        const run = await getRun(hub.url, 'quiet');
        return run.status === 'failed' ? run : undefined;
      }, 20_000, 'the lease to run out');
      expect(failed.lost).toBe(true);
      expect(failed.error_message).toMatch(/^runner lost \(last heard \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
      await waitFor(() => viewer.events.length > 0 || undefined, 10_000, 'the end, live');
      expect(viewer.events[0]).toMatchObject({ status: 'failed', lost: true });
      await waitFor(() => runsPage.events.some((run) => (run as Run).status === 'failed') || undefined, 10_000, 'the run event');

      // the writer was only cut off: its retried create, its lines and its real end still count
      expect(await api(hub.url, 'POST', '/api/runs', { id: 'quiet', lease_s: 1 })).toMatchObject({ status: 200, body: { status: 'failed', lost: true } });
      expect((await api(hub.url, 'POST', '/api/runs/quiet/logs', { records: [line(1), line(2)] })).body).toMatchObject({ inserted: 2 });
      const ended = await api(hub.url, 'POST', '/api/runs/quiet/finish', { status: 'completed', exit_code: 0 });
      expect(ended.body).toMatchObject({ status: 'completed', exit_code: 0, lost: false, error_message: null, line_count: 2 });
      // and that end is the last word
      expect((await api(hub.url, 'POST', '/api/runs/quiet/finish', { status: 'failed' })).body).toMatchObject({ status: 'completed' });
      await waitFor(() => runsPage.events.some((run) => (run as Run).status === 'completed') || undefined, 10_000, 'the real end, live');
    } finally {
      viewer.close();
      runsPage.close();
    }
  });

  it('answers a renewal with the lease and when it runs out, and refuses one for a run that has ended', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/runs', { id: 'leased', lease_s: 30 });
    const renewed = await api<{ lease_s: number; expires_at: string; cancel: unknown }>(hub.url, 'POST', '/api/runs/leased/lease', {});
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ lease_s: 30, cancel: null });
    expect(Date.parse(renewed.body.expires_at) - Date.now()).toBeGreaterThan(60_000);
    expect((await api(hub.url, 'POST', '/api/runs', { id: 'bad', lease_s: 0 })).status).toBe(400);
    expect((await api(hub.url, 'POST', '/api/runs/nope/lease', {})).status).toBe(404);
    await api(hub.url, 'POST', '/api/runs/leased/finish', { status: 'completed', exit_code: 0 });
    expect((await api(hub.url, 'POST', '/api/runs/leased/lease', {})).status).toBe(409);
  });

  it('ends a run asked to cancel whose writer then went silent as cancelled, saying the runner was lost', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/runs', { id: 'asked', lease_s: 1 });
    await api(hub.url, 'POST', '/api/runs/asked/cancel', { by: 'alice' });
    const ended = await waitFor(async () => {
      const run = await getRun(hub.url, 'asked');
      return run.status !== 'running' ? run : undefined;
    }, 20_000, 'the lease to run out');
    expect(ended).toMatchObject({ status: 'cancelled', lost: true });
    expect(ended.error_message).toMatch(/^cancelled by alice \(runner lost \(last heard .+\)\)$/);
  });

  it('starts the lease of a task when it is claimed, never while it is queued', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/tasks', { id: 'waiting', command: ['true'] });
    expect(await getRun(hub.url, 'waiting')).toMatchObject({ status: 'queued', last_heard_at: null });
    const claimed = await api<{ run: Run }>(hub.url, 'POST', '/api/tasks/claim', { worker_id: 'w1', lease_s: 1 });
    expect(claimed.body.run).toMatchObject({ status: 'running', lease_s: 1 });
    expect(claimed.body.run.last_heard_at).not.toBeNull();
    const failed = await waitFor(async () => {
      const run = await getRun(hub.url, 'waiting');
      return run.status === 'failed' ? run : undefined;
    }, 20_000, 'the claimed task to be failed');
    expect(failed.error_message).toMatch(/^runner lost/);
  });
});

describe('runlog cancel', () => {
  it('cancels a running run through its writer: the request rides back on its next lease renewal', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/runs', { id: 'busy', lease_s: 5 });
    const cancelled = await cli(['cancel', 'busy', '--hub', hub.url]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain('cancel requested');
    const requested = await getRun(hub.url, 'busy');
    expect(requested).toMatchObject({ status: 'running' });
    expect(requested.cancel_requested_by).toMatch(/@/); // user@host
    // the writer renews, hears it, stops its command and ends the run
    const lease = await api<{ cancel: { by: string; at: string } | null }>(hub.url, 'POST', '/api/runs/busy/lease', {});
    expect(lease.body.cancel).toMatchObject({ by: requested.cancel_requested_by });
    const end = await api(hub.url, 'POST', '/api/runs/busy/finish', { status: 'cancelled', signal: 'SIGTERM', error_message: `cancelled by ${lease.body.cancel?.by}` });
    expect(end.body).toMatchObject({ status: 'cancelled', cancel_requested_by: requested.cancel_requested_by });
    // an ended run has nothing to cancel
    const again = await cli(['cancel', 'busy', '--hub', hub.url]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('nothing to cancel');
  });

  it('ends at once a run that has no live writer to hear the request (a run from before leases)', async () => {
    const dataDir = tempDir();
    const hub = await newHub(dataDir);
    await hub.store.upsertRun({ id: 'legacy' }); // as a runner without a lease would have made it
    const result = await cli(['cancel', 'legacy', '--hub', hub.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('legacy: cancelled');
    expect(await getRun(hub.url, 'legacy')).toMatchObject({ status: 'cancelled', error_message: expect.stringMatching(/^cancelled by .+@/) });
  });

  it('cancels a queued task, which then never runs', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/tasks', { id: 'never', command: ['touch', '/tmp/should-not-exist'] });
    const result = await cli(['cancel', 'never', '--hub', hub.url, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'never', status: 'cancelled' });
    const claim = await fetch(`${hub.url}/api/tasks/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ worker_id: 'w1' }) });
    expect(claim.status).toBe(204);
  });

  it('cancels a running task: its worker hears it on its lease renewal, and a hand-back then ends it instead of queueing it again', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/tasks', { id: 'handed', command: ['sleep', '60'] });
    const { body: claim } = await api<{ writer_key: string }>(hub.url, 'POST', '/api/tasks/claim', { worker_id: 'w1' });
    expect((await api(hub.url, 'POST', '/api/runs/handed/lease', {}, claim.writer_key)).body).toMatchObject({ lease_s: 10, cancel: null });
    const result = await cli(['cancel', 'handed', '--hub', hub.url]);
    expect(result.stdout).toContain('cancel requested');
    const lease = await api<{ cancel: { by: string } | null }>(hub.url, 'POST', '/api/runs/handed/lease', {}, claim.writer_key);
    expect(lease.body.cancel?.by).toMatch(/@/);
    // only the task's writer renews its lease
    expect((await api(hub.url, 'POST', '/api/runs/handed/lease', {}, 'not-the-key')).status).toBe(403);
    await api(hub.url, 'POST', '/api/runs/handed/cancel', { by: 'alice' }); // a second request keeps the first
    const released = await api(hub.url, 'POST', '/api/tasks/handed/release', { worker_id: 'w1' }, claim.writer_key);
    expect(released.body).toMatchObject({ status: 'cancelled', error_message: `cancelled by ${lease.body.cancel?.by}` });
  });

  it('needs a hub, and says so', async () => {
    const result = await cli(['cancel', 'x', '--hub', 'none']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cancel needs a hub');
  });
});

describe('runlog rm', () => {
  it('deletes an ended run and its lines, and refuses while it runs', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/runs', { id: 'doomed' });
    await api(hub.url, 'POST', '/api/runs/doomed/logs', { records: [line(1)] });
    const refused = await cli(['rm', 'doomed', '--hub', hub.url]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('cancel it first');
    await api(hub.url, 'POST', '/api/runs/doomed/finish', { status: 'completed', exit_code: 0 });
    const runsPage = listen(`${hub.url}/api/events`, 'run_deleted');
    try {
      await waitFor(() => runsPage.open() || undefined, 10_000, 'the runs page stream open');
      const removed = await cli(['rm', 'doomed', '--hub', hub.url]);
      expect(removed).toMatchObject({ code: 0, stdout: 'doomed: deleted\n' });
      // the runs page hears it, and drops the run
      await waitFor(() => runsPage.events.length > 0 || undefined, 10_000, 'the run_deleted event');
      expect(runsPage.events).toEqual([{ id: 'doomed' }]);
    } finally {
      runsPage.close();
    }
    expect((await api(hub.url, 'GET', '/api/runs/doomed')).status).toBe(404);
    expect((await api(hub.url, 'GET', '/api/runs/doomed/logs')).status).toBe(404);
  });

  it('deletes from the local store with --hub none', async () => {
    const dataDir = tempDir();
    const run = await cli(['run', '--hub', 'none', '--data', dataDir, '--id', 'local', '-q', '--', 'echo', 'hi']);
    expect(run.code).toBe(0);
    const removed = await cli(['rm', 'local', '--hub', 'none', '--data', dataDir]);
    expect(removed.code).toBe(0);
    const store = new SqliteStore(databaseFile(dataDir));
    expect(await store.getRun('local')).toBeUndefined();
    await store.close();
  });

  it('says there is no store with --hub none and a --data holding none, and makes none', async () => {
    const missing = join(tempDir(), 'typo');
    const refused = await cli(['rm', 'local', '--hub', 'none', '--data', missing]);
    expect(refused.code).toBe(2); // as for a run the store does not hold
    expect(refused.stderr).toContain(`run local not found: no runlog store at ${databaseFile(missing)}`);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('runlog rerun', () => {
  it("queues a task's spec again as a new run, linked both ways, and waits for its response", async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/tasks', { id: 'first', name: 'train', command: ['echo', 'hello'], env: { SEED: '1' }, labels: { team: 'a' } });
    expect((await cli(['rerun', 'first', '--hub', hub.url])).stderr).toContain('still queued');
    const { body: claim } = await api<{ writer_key: string }>(hub.url, 'POST', '/api/tasks/claim', { worker_id: 'w1' });
    expect((await api(hub.url, 'POST', '/api/runs/first/finish', { status: 'failed', exit_code: 1 }, claim.writer_key)).status).toBe(200);

    const waiting = cli(['rerun', 'first', '--hub', hub.url, '--wait', '--json']);
    // a worker takes the new run: same spec
    const claimed = await waitFor(async () => {
      const response = await fetch(`${hub.url}/api/tasks/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ worker_id: 'w2' }) });
      return response.status === 200 ? ((await response.json()) as { run: Run; spec: { command: string[]; env: Record<string, string> }; writer_key: string }) : undefined;
    }, 20_000, 'the re-run to be claimable');
    expect(claimed.spec).toMatchObject({ command: ['echo', 'hello'], env: { SEED: '1' } });
    expect(claimed.run).toMatchObject({ name: 'train', labels: { team: 'a' }, rerun_of: 'first', is_task: true });
    const second = claimed.run.id;
    await api(hub.url, 'POST', `/api/runs/${second}/logs`, { records: [line(1, 'hello')] }, claimed.writer_key);
    await api(hub.url, 'POST', `/api/runs/${second}/finish`, { status: 'completed', exit_code: 0 }, claimed.writer_key);
    const result = await waiting;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ success: true, run_id: second });
    expect(JSON.parse(result.stdout).stdout).toContain('hello');

    expect(await getRun(hub.url, 'first')).toMatchObject({ reruns: [second] });
    expect(await getRun(hub.url, second)).toMatchObject({ rerun_of: 'first', reruns: [] });
  });

  it('refuses a run that is not a task', async () => {
    const hub = await newHub();
    await api(hub.url, 'POST', '/api/runs', { id: 'plain' });
    await api(hub.url, 'POST', '/api/runs/plain/finish', { status: 'completed', exit_code: 0 });
    const result = await cli(['rerun', 'plain', '--hub', hub.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('not a task');
    // `--wait RUN`: the run id is not taken for the seconds to wait
    const waited = await cli(['rerun', '--hub', hub.url, '--wait', 'plain']);
    expect(waited.code).toBe(2);
    expect(waited.stderr).toContain('not a task');
  });
});
