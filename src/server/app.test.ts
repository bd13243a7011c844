import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../core/config.js';
import { LiveFanout } from '../pipeline/live.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { buildApp } from './app.js';

describe('hub HTTP API', () => {
  let app: FastifyInstance;
  let store: SqliteStore;

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ maxLineBytes: 32 }) });
    await app.inject({ method: 'POST', url: '/api/runs', payload: { id: 'run-1', name: 'train', command: 'python3 t.py' } });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
  const line = (seq: number, extra: object = {}) => ({ seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', message: `line ${seq}`, ...extra });

  it('creates a run with a generated id when none is given', async () => {
    const response = await post('/api/runs', { name: 'x' });
    expect(response.statusCode).toBe(201);
    expect(response.json().id).toMatch(/^r-/);
  });

  it('ingests a batch and ignores records it already has', async () => {
    expect((await post('/api/runs/run-1/logs', { records: [line(1), line(2)] })).json()).toEqual({ inserted: 2, received: 2 });
    expect((await post('/api/runs/run-1/logs', { records: [line(2), line(3)] })).json()).toEqual({ inserted: 1, received: 2 });
    const logs = (await app.inject('/api/runs/run-1/logs')).json();
    expect(logs.logs.map((l: { seq: number }) => l.seq)).toEqual([1, 2, 3]);
    expect(logs).toMatchObject({ run_id: 'run-1', total_lines: 3, truncated: false });
  });

  it('reads a window of time with since and until (until: at or before, as search takes it)', async () => {
    await post('/api/runs/run-1/logs', { records: [1, 2, 3, 4, 5].map((seq) => line(seq)) });
    const seqs = async (query: string) => (await app.inject(`/api/runs/run-1/logs?${query}`)).json().logs.map((l: { seq: number }) => l.seq);
    expect(await seqs('until=1700000000000003')).toEqual([1, 2, 3]);
    expect(await seqs('since=1700000000000002&until=2023-11-14T22:13:20.000004Z')).toEqual([2, 3, 4]);
    expect(await seqs('until=1700000000000004&tail=1')).toEqual([4]);
    const bad = await app.inject('/api/runs/run-1/logs?until=soon');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('until');
  });

  it('accepts ISO timestamps and level aliases', async () => {
    await post('/api/runs/run-1/logs', { records: [line(1, { timestamp: '2026-01-02T03:04:05.123456Z', level: 'warn' })] });
    const [record] = (await app.inject('/api/runs/run-1/logs')).json().logs;
    expect(record).toMatchObject({ timestamp: '2026-01-02T03:04:05.123456Z', level: 'WARNING' });
  });

  it('cuts a message over the line limit and flags it, instead of refusing it', async () => {
    await post('/api/runs/run-1/logs', { records: [line(1, { message: 'é'.repeat(40) })] });
    const [record] = (await app.inject('/api/runs/run-1/logs')).json().logs;
    expect(record.message).toBe('é'.repeat(16));
    expect(record.attrs).toEqual({ truncated: true });
  });

  it.each([
    [{ records: [line(1, { timestamp: 'yesterday' })] }, 'records[0].timestamp'],
    [{ records: [line(1), line(0)] }, 'records[1].seq'],
    [{ records: [line(1, { level: 'LOUD' })] }, 'records[0].level'],
    [{ records: [line(1, { message: 42 })] }, 'records[0].message'],
    [{ records: [line(1, { source: 'pipe' })] }, 'records[0].source'],
    [{ records: 'nope' }, 'records'],
    [[1, 2], 'body'],
  ])('refuses a malformed batch with a 400 naming the field (%#)', async (payload, field) => {
    const response = await post('/api/runs/run-1/logs', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe(field);
    expect(response.json().message).toContain(field);
  });

  it('refuses malformed JSON with a 400', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/runs/run-1/logs', payload: '{"records": [', headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(400);
  });

  it('answers 404 for lines of a run it does not know', async () => {
    expect((await post('/api/runs/ghost/logs', { records: [line(1)] })).statusCode).toBe(404);
    expect((await app.inject('/api/runs/ghost/logs')).statusCode).toBe(404);
    expect((await app.inject('/api/runs/ghost')).statusCode).toBe(404);
    expect((await app.inject('/api/runs/ghost/logs/stream')).statusCode).toBe(404);
  });

  it.each(['..%2F..%2Fetc%2Fpasswd', '-rf', '.hidden', 'a%20b', 'x'.repeat(129)])('refuses the id %s with a 400', async (id) => {
    const response = await app.inject(`/api/runs/${id}/logs`);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe('id');
  });

  it('refuses a since that does not parse with a 400 naming it', async () => {
    const response = await app.inject('/api/runs/run-1/logs?since=last%20tuesday');
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe('since');
  });

  it.each([
    ['tail=-1', 'tail'],
    ['after=abc', 'after'],
    ['level=LOUD', 'level'],
  ])('refuses a bad query %s with a 400 naming it', async (query, field) => {
    const response = await app.inject(`/api/runs/run-1/logs?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe(field);
  });

  it('refuses a stream with a bad batch flag with a 400 naming it', async () => {
    const response = await app.inject('/api/runs/run-1/logs/stream?batch=yes');
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe('batch');
  });

  it('lists runs with a text filter, and refuses one too long', async () => {
    await post('/api/runs', { id: 'eval-2', name: 'evaluate', labels: { team: 'nlp' } });
    expect((await app.inject('/api/runs?q=TRAIN')).json().runs.map((run: { id: string }) => run.id)).toEqual(['run-1']);
    expect((await app.inject('/api/runs?q=team%3Dnlp')).json().runs.map((run: { id: string }) => run.id)).toEqual(['eval-2']);
    expect((await app.inject('/api/runs')).json().runs).toHaveLength(2);
    const response = await app.inject(`/api/runs?q=${'x'.repeat(1001)}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe('q');
  });

  it('finishes a run and reports it', async () => {
    const response = await post('/api/runs/run-1/finish', { status: 'failed', exit_code: 3, error_message: 'ValueError: bad' });
    expect(response.json()).toMatchObject({ status: 'failed', exit_code: 3, error_message: 'ValueError: bad' });
    expect((await app.inject('/api/runs?status=failed')).json().runs).toHaveLength(1);
    expect((await post('/api/runs/run-1/finish', { status: 'running' })).statusCode).toBe(400);
    expect((await app.inject('/api/runs?status=weird')).statusCode).toBe(400);
  });

  it('takes an end before the run started as its start (clocks differ), and refuses an end that is no time', async () => {
    await post('/api/runs', { id: 'skewed', started_at: '2026-01-02T03:04:05Z' });
    expect((await post('/api/runs/skewed/finish', { status: 'completed', completed_at: 'yesterday' })).json()).toMatchObject({ error: 'BAD_REQUEST', field: 'completed_at' });
    const run = (await post('/api/runs/skewed/finish', { status: 'completed', completed_at: '2026-01-02T03:04:01Z' })).json();
    expect(run).toMatchObject({ status: 'completed', started_at: '2026-01-02T03:04:05.000000Z', completed_at: '2026-01-02T03:04:05.000000Z' });
  });

  it('downloads a run as text, with the file name', async () => {
    await post('/api/runs/run-1/logs', { records: [line(1, { message: '\x1b[31mred\x1b[0m', level: 'ERROR' }), line(2)] });
    const response = await app.inject('/api/runs/run-1/logs/download');
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.headers['content-disposition']).toBe('attachment; filename="run-1.log"');
    expect(response.body.split('\n')).toEqual([expect.stringMatching(/^2023-11-14T22:13:20\.000001Z \[ERROR\] red$/), expect.stringMatching(/\[INFO\] line 2$/), '']);
  });

  it('answers 404 for the download of a run with no lines', async () => {
    expect((await app.inject('/api/runs/run-1/logs/download')).statusCode).toBe(404);
  });

  it('answers /healthz', async () => {
    expect((await app.inject('/healthz')).json()).toMatchObject({ ok: true });
  });
  it('takes a heartbeat with its lines once, however often it is sent', async () => {
    const beat = { status: 'busy', current_task_id: 'run-1', vram_total_mb: 24000, vram_used_mb: 12000, gpus: [{ index: 0, name: 'A5000' }], logs: [line(1), line(2)] };
    expect((await post('/api/workers/w1/heartbeat', beat)).json()).toEqual({ success: true, logs_inserted: 2 });
    expect((await post('/api/workers/w1/heartbeat', beat)).json()).toEqual({ success: true, logs_inserted: 0 });
    expect((await app.inject('/api/workers/w1')).json()).toMatchObject({ status: 'active', state: 'busy', vram_used_mb: 12000, last_seq: 2 });
    const logs = (await app.inject('/api/logs?source_type=worker&source_id=w1')).json().logs;
    expect(logs.map((l: { message: string }) => l.message)).toEqual(['line 2', 'line 1']);
  });

  it.each([
    [{ status: 'sleeping' }, 'status'],
    [{ vram_total_mb: -1 }, 'vram_total_mb'],
    [{ gpus: 'many' }, 'gpus'],
    [{ logs: [line(1, { timestamp: 'noon' })] }, 'logs[0].timestamp'],
    [{ current_task_id: '../x' }, 'current_task_id'],
  ])('refuses a malformed heartbeat with a 400 naming the field (%#)', async (payload, field) => {
    const response = await post('/api/workers/w1/heartbeat', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe(field);
  });

  it('queues a task, gives it to one claimer, and answers 204 when the queue is empty', async () => {
    const created = await post('/api/tasks', { id: 't1', command: ['python3', 'train.py'], setup: ['pip install x'], env: { SEED: '1' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ id: 't1', status: 'queued', command: 'python3 train.py' });
    const claim = await post('/api/tasks/claim', { worker_id: 'w1' });
    expect(claim.json()).toMatchObject({ run: { id: 't1', status: 'running', worker_id: 'w1' }, spec: { command: ['python3', 'train.py'], setup: ['pip install x'], env: { SEED: '1' } } });
    expect((await post('/api/tasks/claim', { worker_id: 'w2' })).statusCode).toBe(204);
    // a claim is a sign of life, even before a first heartbeat
    expect((await app.inject('/api/workers/w1')).json()).toMatchObject({ status: 'active', state: 'busy' });
    expect((await app.inject('/api/runs/t1/response')).statusCode).toBe(202);
  });

  it.each([
    [{}, 'command'],
    [{ command: 'python3 train.py' }, 'command'],
    [{ command: ['x'], env: { 'BAD-NAME': '1' } }, 'env.BAD-NAME'],
    [{ command: ['x'], setup: [1] }, 'setup[0]'],
  ])('refuses a malformed task with a 400 naming the field (%#)', async (payload, field) => {
    const response = await post('/api/tasks', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe(field);
  });

  it('refuses a task under the id of an existing run with a 409', async () => {
    expect((await post('/api/tasks', { command: ['x'], id: 'run-1' })).statusCode).toBe(409);
  });

  it('refuses a claim without a worker id, and a response for an unknown run', async () => {
    expect((await post('/api/tasks/claim', {})).json().field).toBe('worker_id');
    expect((await app.inject('/api/runs/ghost/response')).statusCode).toBe(404);
    expect((await app.inject('/api/runs/run-1/response?wait=99999')).json().field).toBe('wait');
  });

  it('answers a finished run with its FunctionResponse', async () => {
    await post('/api/runs/run-1/logs', { records: [line(1, { message: 'hello' }), line(2, { level: 'ERROR', message: 'ValueError: bad' })] });
    await post('/api/runs/run-1/finish', { status: 'failed', exit_code: 1, error_message: 'ValueError: bad' });
    const response = (await app.inject('/api/runs/run-1/response')).json();
    expect(response).toMatchObject({ success: false, exit_code: 1, error: 'ValueError: bad', run_id: 'run-1' });
    expect(response.stdout).toMatch(/^2023-11-14 22:13:20\.000 \| INFO +\| hello\n2023-11-14 22:13:20\.000 \| ERROR +\| ValueError: bad$/);
  });

  it('refuses a second run under the id of an ended one', async () => {
    await post('/api/runs/run-1/finish', { status: 'completed', exit_code: 0 });
    const again = await post('/api/runs', { id: 'run-1' });
    expect(again.statusCode).toBe(409);
    expect((await post('/api/runs/run-1/finish', { status: 'failed' })).json().status).toBe('completed');
  });

  it('applies retention on demand and refuses a bad duration', async () => {
    expect((await post('/api/cleanup', { older_than: '1h' })).json()).toEqual({ worker_lines_deleted: 0, runs_deleted: 0 });
    expect((await post('/api/cleanup', { older_than: 'forever' })).json().field).toBe('older_than');
    expect((await app.inject('/api/logs?since=yesterday')).json().field).toBe('since');
  });
});
