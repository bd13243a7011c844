/**
 * Several hubs on one PostgreSQL database, as real processes (`bin/runlog server --db … --port 0`):
 * a viewer on one sees every line a runner ships to the other, once; workers claiming through both
 * get each task once; a hub killed with -9 mid-ingest loses no line it acknowledged.
 */
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { PostgresStore } from '../src/store/postgres/store.js';
import type { Run } from '../src/store/store.js';
import { cli, getJson, tempDir, waitFor, startHubProcess, type HubProcess } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const post = (url: string, body: object) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, timestamp: Date.now() * 1000, level: 'INFO', message: `line ${from + i}` }));

describeWithPostgres('two hubs on one PostgreSQL database', () => {
  let database: TestDatabase;
  let a: HubProcess;
  let b: HubProcess;
  beforeAll(async () => {
    database = await createTestDatabase();
    // both at once: the schema is created under an advisory lock, once
    [a, b] = await Promise.all([startHubProcess(['--db', database.url, '--data', tempDir()]), startHubProcess(['--db', database.url, '--data', tempDir()])]);
  });
  afterAll(async () => {
    for (const hub of [a, b]) if (hub && hub.child.exitCode === null) hub.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await database?.drop();
  });

  it('shows a viewer on hub B every line a runner ships to hub A, once and in order, then the end', async () => {
    const dir = tempDir();
    const gate = `${dir}/gate`;
    const runner = cli(['run', '--hub', a.url, '--id', 'two-hubs', '-q', '--data', dir, '--', 'sh', '-c', `while [ ! -f ${gate} ]; do sleep 0.05; done; seq 1 3000`]);
    await waitFor(async () => (await getJson(`${b.url}/api/runs/two-hubs`)).status === 200 || undefined, 20_000, 'the run on hub B');
    const seqs: number[] = [];
    const messages: string[] = [];
    let ended: Run | undefined;
    const source = new EventSource(`${b.url}/api/runs/two-hubs/logs/stream?batch=1`);
    source.addEventListener('logs', (event) => {
      for (const record of JSON.parse(event.data) as WireRecord[]) {
        seqs.push(record.seq);
        messages.push(record.message);
      }
    });
    source.addEventListener('end', (event) => {
      ended = JSON.parse(event.data) as Run;
      source.close();
    });
    await waitFor(() => source.readyState === EventSource.OPEN || undefined, 10_000, 'the stream open');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(gate, '');
    expect((await runner).code).toBe(0);
    await waitFor(() => ended, 20_000, 'the end on hub B');
    expect(messages.filter((m) => /^\d+$/.test(m))).toEqual(Array.from({ length: 3000 }, (_, i) => String(i + 1)));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(ended).toMatchObject({ status: 'completed', exit_code: 0 });
  });

  it('tells the runs page on hub B of a run deleted through hub A', async () => {
    expect((await post(`${a.url}/api/runs`, { id: 'gone-soon' })).status).toBe(201);
    expect((await post(`${a.url}/api/runs/gone-soon/finish`, { status: 'completed', exit_code: 0 })).status).toBe(200);
    const deleted: unknown[] = [];
    const source = new EventSource(`${b.url}/api/events`);
    source.addEventListener('run_deleted', (event) => deleted.push(JSON.parse(event.data)));
    try {
      await waitFor(() => source.readyState === EventSource.OPEN || undefined, 10_000, 'the stream open');
      expect((await fetch(`${a.url}/api/runs/gone-soon`, { method: 'DELETE' })).status).toBe(200);
      await waitFor(() => deleted.length > 0 || undefined, 10_000, 'the run_deleted event on hub B');
      expect(deleted).toEqual([{ id: 'gone-soon' }]);
    } finally {
      source.close();
    }
  });

  it('gives each queued task to exactly one worker, whichever hub the workers claim through', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `task-${i}`);
    for (const id of ids) expect((await post(`${a.url}/api/tasks`, { id, command: ['true'] })).status).toBe(201);
    const claimed: string[] = [];
    const worker = async (hub: HubProcess, workerId: string) => {
      for (;;) {
        const response = await post(`${hub.url}/api/tasks/claim`, { worker_id: workerId });
        if (response.status === 204) return;
        claimed.push(((await response.json()) as { run: Run }).run.id);
      }
    };
    await Promise.all([a, b, a, b, a, b].map((hub, i) => worker(hub, `w${i}`)));
    expect(claimed.sort()).toEqual([...ids].sort());
  });

  it('does housekeeping once: a pass another hub is running is skipped here', async () => {
    const [one, two] = await Promise.all([PostgresStore.open(database.url), PostgresStore.open(database.url)]);
    try {
      let release!: () => void;
      const held = one.exclusive('retention', () => new Promise<string>((resolve) => (release = () => resolve('ran'))));
      await new Promise((r) => setTimeout(r, 200));
      expect(await two.exclusive('retention', async () => 'also ran')).toBeUndefined();
      release();
      expect(await held).toBe('ran');
      expect(await two.exclusive('retention', async () => 'ran after')).toBe('ran after');
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('numbers lines it is sent without a seq once across hubs: text and NDJSON through A and B at once, none lost', async () => {
    // each request's lines are numbered by the hub from the run's last seq: two hubs reading the
    // same last seq would each be answered 200 while the store kept one line per seq
    const requests = Array.from({ length: 12 }, (_, r) => {
      const hub = r % 2 === 0 ? a : b;
      const text = r % 3 !== 2;
      const body = Array.from({ length: 300 }, (_, j) => (text ? `req ${r} line ${j}` : JSON.stringify({ message: `req ${r} line ${j}` }))).join('\n') + '\n';
      return fetch(`${hub.url}/api/runs/numbered-twice/text`, {
        method: 'POST',
        headers: { 'content-type': text ? 'text/plain' : 'application/x-ndjson' },
        body,
      });
    });
    const answers = await Promise.all(requests);
    expect(answers.map((response) => response.status)).toEqual(Array(12).fill(200));
    const page = await getJson<{ logs: WireRecord[] }>(`${b.url}/api/runs/numbered-twice/logs?after=0&limit=10000`);
    expect(page.body.logs.map((l) => l.seq)).toEqual(Array.from({ length: 3600 }, (_, i) => i + 1));
    const messages = page.body.logs.map((l) => l.message);
    expect(new Set(messages).size).toBe(3600);
    // one request's lines are one block, in order
    for (let r = 0; r < 12; r++) {
      const first = messages.indexOf(`req ${r} line 0`);
      expect(messages.slice(first, first + 300)).toEqual(Array.from({ length: 300 }, (_, j) => `req ${r} line ${j}`));
    }
  });

  it('takes a since, until or retention reaching back past 1970 as "since the start" (PostgreSQL refused the time: a 500)', async () => {
    for (const path of ['/api/logs?since=9999999d', '/api/logs?until=9999999d', '/api/search?q=a&since=9999999d', '/api/runs/numbered-twice/logs?since=9999999d']) {
      expect([path, (await fetch(`${a.url}${path}`)).status]).toEqual([path, 200]);
    }
    const cleanup = await post(`${a.url}/api/cleanup`, { older_than: '3000000d', runs_older_than: '3000000d' });
    expect(await cleanup.json()).toEqual({ worker_lines_deleted: 0, runs_deleted: 0 });
  });

  it("keeps every line of a worker whose heartbeats alternate between the hubs, after retention emptied its stream", async () => {
    const now = Date.now() / 1000;
    const beat = (hub: HubProcess, logs: object[]) => post(`${hub.url}/api/workers/alternating/heartbeat`, { status: 'idle', logs });
    const line = (seq: number, at: number, message: string) => ({ seq, timestamp: at, level: 20, message });
    expect((await beat(a, [line(1, now - 3 * 86400, 'old a'), line(2, now - 3 * 86400, 'old b'), line(3, now - 3 * 86400, 'old c')])).status).toBe(200);
    expect(await (await post(`${b.url}/api/cleanup`, { older_than: '48h' })).json()).toMatchObject({ worker_lines_deleted: 3 });
    // hub A remembers seq 3; hub B finds the stream empty: before, both numbered from there and one line of a pair was lost
    const answers = [];
    answers.push(await (await beat(b, [line(4, now, 'new 1')])).json());
    answers.push(await (await beat(a, [line(5, now + 0.1, 'new 2')])).json());
    answers.push(await (await beat(b, [6, 7, 8, 9].map((seq, i) => line(seq, now + 0.2 + i / 10, `new ${3 + i}`)))).json());
    answers.push(await (await beat(a, [line(10, now + 0.7, 'new 7')])).json());
    expect(answers.map((answer) => (answer as { logs_inserted: number }).logs_inserted)).toEqual([1, 1, 4, 1]);
    const logs = (await getJson<{ logs: { seq: number; message: string }[] }>(`${b.url}/api/logs?source_id=alternating&limit=100`)).body.logs;
    // newest first; numbered in the order they came
    expect(logs.map((l) => l.message).reverse()).toEqual(['new 1', 'new 2', 'new 3', 'new 4', 'new 5', 'new 6', 'new 7']);
    const seqs = logs.map((l) => l.seq).reverse();
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(7);
  });

  it('loses no acknowledged line when hub A is killed with -9 mid-ingest: hub B has every one, once', async () => {
    expect((await post(`${a.url}/api/runs`, { id: 'killed' })).status).toBe(201);
    const acknowledged: number[] = [];
    let next = 1;
    const send = async (hub: HubProcess) => {
      const batch = lines(next, next + 499);
      next += 500;
      const response = await post(`${hub.url}/api/runs/killed/logs`, { records: batch });
      if (response.ok) acknowledged.push(...batch.map((l) => l.seq));
    };
    for (let i = 0; i < 5; i++) await send(a);
    // in flight while it dies: acknowledged or not, never half-stored
    const inFlight = Array.from({ length: 4 }, () => send(a).catch(() => {}));
    a.child.kill('SIGKILL');
    await Promise.all(inFlight);
    // the sender goes on through hub B (a load balancer's retry), resending what was not acknowledged
    for (let seq = 1; seq < next; seq += 500) {
      if (!acknowledged.includes(seq)) expect((await post(`${b.url}/api/runs/killed/logs`, { records: lines(seq, seq + 499) })).status).toBe(200);
    }
    const page = await getJson<{ logs: WireRecord[]; total_lines: number }>(`${b.url}/api/runs/killed/logs?after=0&limit=10000`);
    expect(acknowledged.length).toBeGreaterThanOrEqual(2500);
    expect(page.body.logs.map((l) => l.seq)).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1));
    expect(page.body.total_lines).toBe(next - 1);
  });
});

describeWithPostgres('tokens across two hubs on one PostgreSQL database', () => {
  let database: TestDatabase;
  const hubs: HubProcess[] = [];
  afterAll(async () => {
    for (const hub of hubs) if (hub.child.exitCode === null) hub.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await database?.drop();
  });

  it('a token revoked through one hub, or with `runlog token revoke --db`, stops working on the other at once, not after its cache', async () => {
    database = await createTestDatabase();
    const token = async (name: string, scope: string) => {
      const made = await cli(['token', 'create', name, '--scope', scope, '--db', database.url]);
      expect(made.code).toBe(0);
      return made.stdout.trim();
    };
    const admin = await token('admin', 'admin');
    const readers = { viaHub: await token('reader-a', 'read'), viaCli: await token('reader-b', 'read') };
    const [a, b] = await Promise.all([startHubProcess(['--db', database.url, '--data', tempDir()]), startHubProcess(['--db', database.url, '--data', tempDir()])]);
    hubs.push(a!, b!);
    const runsOnB = (secret: string) => fetch(`${b!.url}/api/runs`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.status);
    // hub B has looked each token up, and caches it for 5 s
    expect(await runsOnB(readers.viaHub)).toBe(200);
    expect(await runsOnB(readers.viaCli)).toBe(200);
    const revoked = await fetch(`${a!.url}/api/tokens/reader-a`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(revoked.status).toBe(200);
    // well inside the cache's 5 s: the notice made hub B forget it
    await waitFor(async () => (await runsOnB(readers.viaHub)) === 401 || undefined, 2500, 'hub B to refuse the token revoked through hub A');
    expect((await cli(['token', 'revoke', 'reader-b', '--db', database.url])).code).toBe(0);
    await waitFor(async () => (await runsOnB(readers.viaCli)) === 401 || undefined, 2500, 'hub B to refuse the token revoked with --db');
    expect(await runsOnB(admin)).toBe(200);
  });
});
