/** The hub with real runs: lines complete and in order, SSE backlog + live + resume, a hub restart mid-run. */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { RunningHub } from '../src/server/listen.js';
import { startHub } from '../src/server/listen.js';
import { cli, FIXTURES, getJson, hubOn, PYTHON, tempDir, waitFor } from './helpers.js';

let hubs: RunningHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.map((hub) => hub.close().catch(() => {})));
  hubs = [];
});

async function newHub(dataDir = tempDir(), port = 0, extra = {}): Promise<RunningHub> {
  const hub = port === 0 && Object.keys(extra).length === 0 ? await hubOn(dataDir) : await startHub({ host: '127.0.0.1', port, dataDir, ssePingMs: 1000, ...extra });
  hubs.push(hub);
  return hub;
}

/** Every stored line of a run, paging forward. */
async function allLines(hub: string, id: string): Promise<WireRecord[]> {
  const lines: WireRecord[] = [];
  for (;;) {
    const { body } = await getJson<{ logs: WireRecord[] }>(`${hub}/api/runs/${id}/logs?after=${lines.at(-1)?.seq ?? 0}&limit=10000`);
    lines.push(...body.logs);
    if (body.logs.length < 10000) return lines;
  }
}

interface Collected {
  seqs: number[];
  /** `log` and `logs` events received */
  events: number;
  /** records in each `logs` event */
  sizes: number[];
  messages: string[];
  progress: string[];
  ended?: { status: string };
  source: EventSource;
}

/** An SSE client (the `eventsource` package), optionally resuming from a Last-Event-ID. */
function subscribe(url: string, lastEventId?: string): Collected {
  const collected: Collected = { seqs: [], events: 0, sizes: [], messages: [], progress: [], source: undefined as unknown as EventSource };
  const source = new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...(init?.headers ?? {}), ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } }),
  });
  source.addEventListener('log', (event) => {
    const record = JSON.parse(event.data) as WireRecord;
    expect(event.lastEventId).toBe(String(record.seq));
    collected.seqs.push(record.seq);
    collected.messages.push(record.message);
    collected.events++;
  });
  // ?batch=1: arrays of records, the id the last seq of each
  source.addEventListener('logs', (event) => {
    const records = JSON.parse(event.data) as WireRecord[];
    expect(records.length).toBeGreaterThan(0);
    expect(event.lastEventId).toBe(String(records.at(-1)!.seq));
    for (const record of records) {
      collected.seqs.push(record.seq);
      collected.messages.push(record.message);
    }
    collected.events++;
    collected.sizes.push(records.length);
  });
  source.addEventListener('progress', (event) => collected.progress.push((JSON.parse(event.data) as { message: string }).message));
  source.addEventListener('end', (event) => {
    collected.ended = JSON.parse(event.data) as { status: string };
    source.close();
  });
  collected.source = source;
  return collected;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('hub with real runs', () => {
  it('keeps 200k lines complete and in order', async () => {
    const hub = await newHub();
    const result = await cli(['run', '--quiet', '--json', '--hub', hub.url, '--id', 'big', '--data', tempDir(), '--', PYTHON, join(FIXTURES, 'many_lines.py'), '200000']);
    expect(result.code).toBe(0);
    const lines = await allLines(hub.url, 'big');
    expect(lines).toHaveLength(200_000);
    lines.forEach((line, index) => {
      expect(line.seq).toBe(index + 1);
      expect(line.message.startsWith(`line ${String(index + 1).padStart(8, '0')} `)).toBe(true);
    });
    const { body: run } = await getJson<{ status: string; line_count: number }>(`${hub.url}/api/runs/big`);
    expect(run).toMatchObject({ status: 'completed', line_count: 200_000 });
  });

  it.each([
    ['a `log` event per line', ''],
    ['batched `logs` events (?batch=1)', 'batch=1'],
  ])('streams the backlog, then live lines, and resumes from Last-Event-ID with no gap and no duplicate: %s', async (_form, batch) => {
    const hub = await newHub();
    const total = 150;
    const running = cli(['run', '--quiet', '--hub', hub.url, '--id', 'live', '--data', tempDir(), '--', PYTHON, join(FIXTURES, 'paced.py'), String(total), '0.02']);
    await waitFor(async () => (await getJson<{ line_count: number }>(`${hub.url}/api/runs/live`)).body.line_count >= 20 || undefined, 20_000, 'first lines');

    const first = subscribe(`${hub.url}/api/runs/live/logs/stream?after=0&${batch}`);
    await waitFor(() => first.seqs.length >= 60 || undefined, 20_000, 'live lines');
    first.source.close(); // the connection drops mid-run
    const lastSeen = first.seqs.at(-1) as number;
    expect(first.seqs).toEqual(range(1, lastSeen));

    const resumed = subscribe(`${hub.url}/api/runs/live/logs/stream?${batch}`, String(lastSeen));
    await waitFor(() => resumed.ended, 30_000, 'end event');
    expect((await running).code).toBe(0);
    expect([...first.seqs, ...resumed.seqs]).toEqual(range(1, total));
    // batched, the backlog of 20+ lines came in fewer events than lines
    if (batch !== '') expect(first.events).toBeLessThan(first.seqs.length);
    else expect(first.events).toBe(first.seqs.length);
    expect(resumed.ended).toMatchObject({ status: 'completed' });
  });

  it('gives each of 40 viewers every line once, in order, then the end (a stream with many viewers has its lines gathered)', async () => {
    const hub = await newHub();
    const total = 200;
    const running = cli(['run', '--quiet', '--hub', hub.url, '--id', 'crowd', '--data', tempDir(), '--', PYTHON, join(FIXTURES, 'paced.py'), String(total), '0.01']);
    await waitFor(async () => (await getJson(`${hub.url}/api/runs/crowd`)).status === 200 || undefined, 20_000, 'run');
    const early = Array.from({ length: 30 }, (_, i) => subscribe(`${hub.url}/api/runs/crowd/logs/stream?after=0${i % 3 === 0 ? '&batch=1' : ''}`));
    await waitFor(async () => (await getJson<{ line_count: number }>(`${hub.url}/api/runs/crowd`)).body.line_count >= 60 || undefined, 20_000, 'lines');
    // joining mid-run: backlog, then live; batched ones released with the early ones, from another position
    const late = Array.from({ length: 10 }, (_, i) => subscribe(`${hub.url}/api/runs/crowd/logs/stream?after=0${i % 2 === 0 ? '&batch=1' : ''}`));
    const viewers = [...early, ...late];
    for (const viewer of viewers) await waitFor(() => viewer.ended, 30_000, 'end event');
    expect((await running).code).toBe(0);
    for (const viewer of viewers) {
      expect(viewer.seqs).toEqual(range(1, total));
      expect(viewer.ended).toMatchObject({ status: 'completed' });
    }
  });

  it('batched, sends a big commit live as events of at most 1,000 lines, each with its own last seq as id', async () => {
    const hub = await newHub();
    const post = (path: string, body: unknown) =>
      fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/runs', { id: 'bulk' })).status).toBe(201);
    const client = subscribe(`${hub.url}/api/runs/bulk/logs/stream?batch=1`);
    await waitFor(() => client.source.readyState === EventSource.OPEN || undefined, 10_000, 'stream open');
    const records = range(1, 2_500).map((seq) => ({ seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', message: `bulk ${seq}` }));
    expect((await post('/api/runs/bulk/logs', { records })).status).toBeLessThan(300);
    expect((await post('/api/runs/bulk/finish', { status: 'completed', exit_code: 0 })).status).toBe(200);
    await waitFor(() => client.ended, 10_000, 'end');
    expect(client.seqs).toEqual(range(1, 2_500));
    expect(client.sizes).toEqual([1_000, 1_000, 500]); // ids checked in subscribe()
  });

  it('sends the last 500 lines as backlog by default', async () => {
    const hub = await newHub();
    await cli(['run', '--quiet', '--hub', hub.url, '--id', 'done', '--data', tempDir(), '--', PYTHON, join(FIXTURES, 'many_lines.py'), '800']);
    const client = subscribe(`${hub.url}/api/runs/done/logs/stream`);
    await waitFor(() => client.ended, 10_000, 'end');
    expect(client.seqs).toEqual(range(301, 800));
  });

  it('sends a tqdm bar live as progress events and stores only its final state', async () => {
    const hub = await newHub();
    const script = 'import time\nfrom tqdm import tqdm\nfor _ in tqdm(range(40)): time.sleep(0.05)\n';
    const running = cli(['run', '--quiet', '--hub', hub.url, '--id', 'bar', '--data', tempDir(), '--', PYTHON, '-c', script]);
    await waitFor(async () => (await getJson(`${hub.url}/api/runs/bar`)).status === 200 || undefined, 10_000, 'run');
    const client = subscribe(`${hub.url}/api/runs/bar/logs/stream?after=0`);
    await waitFor(() => client.ended, 20_000, 'end');
    await running;
    expect(client.progress.length).toBeGreaterThan(1);
    // 2 s of bar at most 4 updates a second (and a little slack for timing at the edges)
    expect(client.progress.length).toBeLessThanOrEqual(12);
    const stored = await allLines(hub.url, 'bar');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.message).toContain('100%');
  });

  it('loses nothing when the hub stops and comes back mid-run: every line arrives exactly once', async () => {
    const dataDir = tempDir();
    let hub = await newHub(dataDir);
    const port = Number(new URL(hub.url).port);
    const total = 300;
    const running = cli(['run', '--quiet', '--hub', hub.url, '--id', 'outage', '--data', tempDir(), '--', PYTHON, join(FIXTURES, 'paced.py'), String(total), '0.01']);
    await waitFor(async () => (await getJson(`${hub.url}/api/runs/outage`)).status === 200 || undefined, 10_000, 'run');
    const client = subscribe(`${hub.url}/api/runs/outage/logs/stream?after=0`);
    await waitFor(() => client.seqs.length >= 30 || undefined, 20_000, 'lines before the outage');

    await hub.close();
    hubs = [];
    await new Promise((r) => setTimeout(r, 1500));
    hub = await newHub(dataDir, port);

    const result = await running;
    expect(result.code).toBe(0);
    await waitFor(() => client.ended, 30_000, 'end after the outage');
    const lines = await allLines(hub.url, 'outage');
    expect(lines.map((l) => l.seq)).toEqual(range(1, total));
    expect(lines.map((l) => l.message)).toEqual(range(1, total).map((i) => `paced ${i}`));
    // the live viewer reconnected by itself and got each line once, in order
    expect(client.seqs).toEqual(range(1, total));
  });

  it('closes a subscriber that does not read, without slowing capture or the other subscribers', async () => {
    const hub = await newHub(tempDir(), 0, { sseMaxQueuedBytes: 1024 * 1024 });
    await fetch(`${hub.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'flood' }) });
    // a client that asks for the stream and never reads a byte
    const { port } = new URL(hub.url);
    const stalled = connect(Number(port), '127.0.0.1');
    stalled.write('GET /api/runs/flood/logs/stream HTTP/1.1\r\nHost: x\r\n\r\n');
    stalled.pause();
    const reader = subscribe(`${hub.url}/api/runs/flood/logs/stream?after=0`);
    await new Promise((r) => setTimeout(r, 200));

    const message = 'x'.repeat(1000);
    for (let batch = 0; batch < 100; batch++) {
      const records = range(batch * 200 + 1, batch * 200 + 200).map((seq) => ({ seq, timestamp: Date.now() * 1000, level: 'INFO', message }));
      const response = await fetch(`${hub.url}/api/runs/flood/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) });
      expect(response.status).toBe(200);
    }
    // the stalled one was dropped: only the reader is left
    const subscribers = async () => (await getJson<{ subscribers: number }>(`${hub.url}/healthz`)).body.subscribers;
    await waitFor(async () => (await subscribers()) === 1 || undefined, 10_000, 'the stalled subscriber to be dropped');
    stalled.destroy();
    await waitFor(() => reader.seqs.length === 20_000 || undefined, 20_000, 'the reading subscriber to get everything');
    expect(reader.seqs).toEqual(range(1, 20_000));
    reader.source.close();
  });

  it('follows a run with `runlog logs -f` over SSE until it ends', async () => {
    const hub = await newHub();
    const running = cli(['run', '--quiet', '--hub', hub.url, '--id', 'follow', '--data', tempDir(), '--', PYTHON, join(FIXTURES, 'paced.py'), '40', '0.02']);
    await waitFor(async () => (await getJson(`${hub.url}/api/runs/follow`)).status === 200 || undefined, 10_000, 'run');
    const followed = await cli(['logs', 'follow', '-f', '--hub', hub.url]);
    await running;
    expect(followed.code).toBe(0);
    expect(followed.stdout.trim().split('\n')).toEqual(range(1, 40).map((i) => `paced ${i}`));
  });
  it('tells the UI live about runs, workers and worker lines', async () => {
    const hub = await newHub();
    const events: [string, { id?: string; status?: string; message?: string }][] = [];
    const all = new EventSource(`${hub.url}/api/events`);
    const lines = new EventSource(`${hub.url}/api/logs/stream?source_id=w1`);
    for (const type of ['run', 'worker']) all.addEventListener(type, (event) => events.push([type, JSON.parse(event.data)]));
    lines.addEventListener('log', (event) => events.push(['line', JSON.parse(event.data)]));
    await new Promise((r) => setTimeout(r, 300));
    const post = (path: string, body: object) => fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await post('/api/runs', { id: 'ui-run' });
    await post('/api/runs/ui-run/finish', { status: 'completed', exit_code: 0 });
    await post('/api/workers/w1/heartbeat', { status: 'idle', logs: [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: 'hello from w1' }] });
    await post('/api/workers/w2/heartbeat', { status: 'idle', logs: [{ seq: 1, timestamp: Date.now() * 1000, level: 'INFO', message: 'hello from w2' }] });
    await waitFor(() => events.length >= 5 || undefined, 10_000, 'the events');
    all.close();
    lines.close();
    expect(events.map(([type, data]) => [type, type === 'line' ? data.message : data.id, data.status])).toEqual([
      ['run', 'ui-run', 'running'],
      ['run', 'ui-run', 'completed'],
      ['line', 'hello from w1', undefined],
      ['worker', 'w1', 'active'],
      ['worker', 'w2', 'active'],
    ]);
  });

  it('says at / when the web UI is not built, and serves it when it is', async () => {
    const dir = tempDir();
    const bare = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), uiDir: dir });
    hubs.push(bare);
    expect(await (await fetch(`${bare.url}/`)).text()).toContain('web UI is not built');
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>runlog</title>');
    const withUi = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), uiDir: dir });
    hubs.push(withUi);
    const page = await fetch(`${withUi.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<title>runlog</title>');
    expect((await fetch(`${withUi.url}/api/runs/nope`)).status).toBe(404);
  });
});
