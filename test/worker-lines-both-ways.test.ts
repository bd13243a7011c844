/**
 * A worker's lines come two ways on PostgreSQL (issue 10): HTTP heartbeats, which a hub numbers,
 * and direct calls of the seeds' `func_worker_heartbeat_with_logs`. They must be one stream to the
 * hub: one increasing seq, whichever way each line came. The function's rows used to have no seq
 * (their row id, shared by every worker, stood in): a function call committed while a hub was
 * storing a heartbeat of the same worker got a seq above the heartbeat's lines, or equal to one of
 * them, so `runlog logs worker:<id> -f` and an SSE viewer resuming with Last-Event-ID skipped the
 * heartbeat's lines, and two lines had one id. And a live viewer gets them in seq order, each once,
 * though a hub publishes its own heartbeats' lines at once and the others' when their notice is
 * read. Real hubs (in-process and as processes), psql, and
 * a psycopg2 worker on a real PostgreSQL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import pg from 'pg';
import { afterAll, afterEach, expect, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/store.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { SystemLog } from '../src/store/store.js';
import { cli, FIXTURES, getJson, PYTHON, tempDir, waitFor, startHubProcess } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

/** `psql -c SQL` (asynchronous: a call may wait on a hub's lock); rejects when it fails. */
function psql(url: string, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`psql failed: ${err}`))));
  });
}

const line = (message: string) => ({ timestamp: new Date().toISOString(), level: 'INFO', message });
const call = (url: string, worker: string, ...messages: string[]) =>
  psql(url, `SELECT func_worker_heartbeat_with_logs('${worker}', NULL, NULL, '${JSON.stringify(messages.map(line))}'::jsonb, NULL)`);

async function beat(hubUrl: string, worker: string, messages: string[], session?: string): Promise<void> {
  const answer = await fetch(`${hubUrl}/api/workers/${worker}/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ logs: messages.map(line), ...(session ? { session } : {}) }),
  });
  expect(answer.status, await answer.clone().text()).toBe(200);
}

/** Every line of a worker as the API lists them, oldest first: [seq, message]. */
async function stored(hubUrl: string, worker: string): Promise<[number, string][]> {
  const { body } = await getJson<{ logs: SystemLog[] }>(`${hubUrl}/api/logs?source_id=${worker}&limit=10000`);
  return body.logs.map((l): [number, string] => [l.seq, l.message]).sort((a, b) => a[0] - b[0]);
}

/** An SSE viewer of one worker's lines from its first (or resuming after `lastEventId`, or from now: !fromFirst): what it received, [seq, message], in order. */
function viewer(hubUrl: string, worker: string, lastEventId?: number, fromFirst = true) {
  const seen: [number, string][] = [];
  const source = new EventSource(`${hubUrl}/api/logs/stream?source_id=${worker}${lastEventId === undefined && fromFirst ? '&after=0' : ''}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...(lastEventId === undefined ? {} : { 'Last-Event-ID': String(lastEventId) }) } }),
  });
  source.addEventListener('log', (event) => {
    const row = JSON.parse(event.data) as SystemLog;
    seen.push([row.seq, row.message]);
  });
  return { seen, source };
}

describeWithPostgres("a worker's lines by HTTP and by the seeds' function: one seq", () => {
  const databases: TestDatabase[] = [];
  const hubs: RunningHub[] = [];
  let children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    children = [];
  });
  afterAll(async () => {
    for (const hub of hubs) await hub.close();
    for (const database of databases) await database.drop();
  });
  const freshDatabase = async () => {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  };

  it('numbers a function call made while a hub stores a heartbeat of the same worker after the heartbeat: -f and SSE resume see every line once, in order (issue 10)', async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    // the hub's first line of a heartbeat takes its time to store, so a function call lands in the middle
    await psql(
      url,
      `CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.message LIKE 'slow%' THEN PERFORM pg_sleep(1.5); END IF; RETURN NEW; END $$;
       CREATE TRIGGER a_test_slow BEFORE INSERT ON system_logs FOR EACH ROW EXECUTE FUNCTION test_slow();`,
    );
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url, ssePingMs: 1000 });
    hubs.push(hub);
    await call(url, 'both', 'f1');
    await beat(hub.url, 'both', ['h1'], 's1');
    const following = cli(['logs', 'worker:both', '-f', '--hub', hub.url]);
    children.push(following.child);
    let out = '';
    following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const live = viewer(hub.url, 'both');
    await waitFor(() => out.includes('h1') && live.seen.length === 2, 20_000, 'the first two lines');

    const slow = beat(hub.url, 'both', ['slow h2', 'h3'], 's1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await call(url, 'both', 'f2');
    await slow;
    await beat(hub.url, 'both', ['h4'], 's1');
    await call(url, 'both', 'f3');

    const order = ['f1', 'h1', 'slow h2', 'h3', 'f2', 'h4', 'f3'];
    const lines = await stored(hub.url, 'both');
    expect(lines).toEqual(order.map((message, i) => [i + 1, message]));
    await waitFor(() => out.includes('f3') && live.seen.length >= order.length, 20_000, 'every line followed');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(out.trim().split('\n')).toEqual(order);
    expect(live.seen).toEqual(lines);
    live.source.close();
    // a viewer that reconnects after h1 gets the rest, once each, in order
    const resumed = viewer(hub.url, 'both', 2);
    await waitFor(() => resumed.seen.length >= order.length - 2, 20_000, 'the resumed lines');
    await new Promise((resolve) => setTimeout(resolve, 300));
    resumed.source.close();
    expect(resumed.seen).toEqual(lines.slice(2));
    // paging newest first with before= gets each line once
    const paged: string[] = [];
    for (let before: string | undefined; ; ) {
      const { body } = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=both&limit=2${before ? `&before=${before}` : ''}`);
      if (body.logs.length === 0) break;
      paged.push(...body.logs.map((l) => l.message));
      before = body.logs[body.logs.length - 1]!.id;
    }
    expect(paged.sort()).toEqual([...order].sort());
  });

  it("-f prints a seed-style worker's buffered lines (older times, numbered after newer ones) in seq order, stored and live alike", async () => {
    const { url } = await freshDatabase();
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url, ssePingMs: 1000 });
    hubs.push(hub);
    await beat(hub.url, 'buffered', ['h-now']);
    // the worker's buffer, flushed by the function: captured 5 s before the line the hub already numbered
    const old = { timestamp: new Date(Date.now() - 5000).toISOString(), level: 'INFO', message: 'f-buffered' };
    await psql(url, `SELECT func_worker_heartbeat_with_logs('buffered', NULL, NULL, '${JSON.stringify([old])}'::jsonb, NULL)`);
    expect((await stored(hub.url, 'buffered')).map(([, message]) => message)).toEqual(['h-now', 'f-buffered']);
    const following = cli(['logs', 'worker:buffered', '-f', '--hub', hub.url]);
    children.push(following.child);
    let out = '';
    following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => (out.includes('h-now') && out.includes('f-buffered')) || undefined, 20_000, 'the stored lines');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await call(url, 'buffered', 'f-live');
    await waitFor(() => out.includes('f-live') || undefined, 20_000, 'the live line');
    expect(out.trim().split('\n')).toEqual(['h-now', 'f-buffered', 'f-live']);
  });

  it("sends a live viewer a hub's own heartbeat lines after the function's lines before them, whose notice is read late: every line once, in seq order", async () => {
    const { url } = await freshDatabase();
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url, ssePingMs: 1000 });
    hubs.push(hub);
    await call(url, 'late', 'f1');
    // the hub reads a notice's lines late (as behind a busy notice queue): its own heartbeat's lines,
    // published at once after their commit, used to reach a viewer before the function's lines below them
    const store = hub.store as PostgresStore;
    const read = store.systemLogRows.bind(store);
    store.systemLogRows = async (low, high) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return read(low, high);
    };
    const fromFirst = viewer(hub.url, 'late');
    const fromNow = viewer(hub.url, 'late', undefined, false);
    const following = cli(['logs', 'worker:late', '-f', '--hub', hub.url]);
    children.push(following.child);
    let out = '';
    following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => (out.includes('f1') && fromFirst.seen.length === 1) || undefined, 20_000, 'the first line');
    await call(url, 'late', 'f2');
    await beat(hub.url, 'late', ['h1', 'h2']);
    await call(url, 'late', 'f3');
    await beat(hub.url, 'late', ['h3']);
    const lines = await stored(hub.url, 'late');
    expect(lines.map(([, message]) => message)).toEqual(['f1', 'f2', 'h1', 'h2', 'f3', 'h3']);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // every late notice read
    fromFirst.source.close();
    fromNow.source.close();
    expect(fromFirst.seen).toEqual(lines);
    expect(fromNow.seen).toEqual(lines.slice(1));
    expect(out.trim().split('\n')).toEqual(lines.map(([, message]) => message));
  });

  it("numbers the function's lines per worker, after what the worker's lines had, retention's deleted ones included", async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    await call(url, 'fa', 'a1', 'a2');
    await call(url, 'fb', 'b1');
    await call(url, 'fa', 'a3');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const rows = async () => (await db.query<{ source_id: string; seq: string; message: string }>('SELECT source_id, seq, message FROM system_logs ORDER BY id')).rows.map((r) => [r.source_id, Number(r.seq), r.message]);
      expect(await rows()).toEqual([['fa', 1, 'a1'], ['fa', 2, 'a2'], ['fb', 1, 'b1'], ['fa', 3, 'a3']]);
      // the seed's retention deletes them all: the next line goes on from 3, not from 1
      await db.query("UPDATE system_logs SET timestamp = NOW() - INTERVAL '3 days' WHERE source_id = 'fa'");
      await db.query('SELECT cleanup_old_system_logs()');
      await call(url, 'fa', 'a4');
      expect(await rows()).toEqual([['fb', 1, 'b1'], ['fa', 4, 'a4']]);
      // a hand-written INSERT (no function at all) is numbered too
      await db.query("INSERT INTO system_logs (level, message, source_type, source_id) VALUES ('INFO', 'by hand', 'worker', 'fb')");
      expect((await rows()).at(-1)).toEqual(['fb', 2, 'by hand']);
    } finally {
      await db.end();
    }
  });

  it('numbers in place, on migrating, the rows the function stored without a seq: their row id where it is free, else after the worker\'s last', async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // a database as the release before left it: seq-less rows of the function, one whose id is a hub seq of its worker
      await db.query('DROP TRIGGER system_logs_number ON system_logs');
      await db.query("DELETE FROM schema_migrations WHERE version = 13");
      await db.query(`INSERT INTO system_logs (id, level, message, source_type, source_id, seq) VALUES
        (1, 'INFO', 'hub 1', 'worker', 'm', 1), (2, 'INFO', 'hub 5', 'worker', 'm', 5), (3, 'INFO', 'fn, id 3', 'worker', 'm', NULL),
        (5, 'INFO', 'fn, id 5 (taken)', 'worker', 'm', NULL), (6, 'INFO', 'other worker', 'worker', 'o', NULL)`);
      await db.query("SELECT setval('system_logs_id_seq', 6)");
      await db.query("INSERT INTO system_log_seqs (source_type, source_id, last_seq) VALUES ('worker', 'm', 7)");
      await (await PostgresStore.open(url)).close();
      const { rows } = await db.query<{ id: string; seq: string }>('SELECT id, seq FROM system_logs ORDER BY id');
      expect(rows.map((r) => [Number(r.id), Number(r.seq)])).toEqual([[1, 1], [2, 5], [3, 3], [5, 8], [6, 6]]);
      expect((await db.query("SELECT version FROM schema_migrations WHERE version = 13")).rowCount).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('gives every line of a psycopg2 worker and of HTTP heartbeats through two hub processes for the same worker one seq: each way in its order, every line once to a viewer resuming by seq', async () => {
    const probe = spawnSync(PYTHON, ['-c', 'import psycopg2'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`${PYTHON} cannot import psycopg2 (apt-get install python3-psycopg2)`);
      console.warn(`${PYTHON} cannot import psycopg2: skipping`);
      return;
    }
    const { url } = await freshDatabase();
    const [a, b] = await Promise.all([startHubProcess(['--db', url, '--data', tempDir()]), startHubProcess(['--db', url, '--data', tempDir()])]);
    children.push(a.child, b.child);
    // live viewers on both hubs and a CLI follower, from before the first line: each hub publishes
    // its own heartbeats' lines at once and the others' (the function's, the other hub's) from
    // notices, read later; a viewer used to get a line after a later one, or never
    const liveViewers = [viewer(a.url, 'mixed'), viewer(b.url, 'mixed')];
    let followed = '';
    const follow = () => {
      const following = cli(['logs', 'worker:mixed', '-f', '--hub', b.url]);
      children.push(following.child);
      following.child.stdout!.on('data', (chunk: Buffer) => (followed += chunk.toString()));
      following.child.stderr!.on('data', (chunk: Buffer) => (followed += chunk.toString()));
    };
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const worker = spawn(PYTHON, [join(FIXTURES, 'seed', 'seed_worker.py'), url, 'mixed', '1500', '0.05'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(worker);
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const done = new Promise<number | null>((resolve) => worker.on('close', resolve));
    let http = 0;
    let running = true;
    void done.then(() => (running = false));
    while (running) {
      const via = http % 2 === 0 ? a : b;
      await beat(via.url, 'mixed', [`http ${http * 2 + 1}`, `http ${http * 2 + 2}`]);
      if (http === 0) follow(); // once the worker is known: its stored lines, then live
      http++;
    }
    expect(await done, output).toBe(0);
    const total = 1500 + http * 2;
    const lines = await stored(a.url, 'mixed');
    expect(lines).toHaveLength(total);
    expect(new Set(lines.map(([seq]) => seq)).size).toBe(total);
    // each way's lines in the order they were sent
    const httpOrder = lines.map(([, m]) => m).filter((m) => m.startsWith('http '));
    expect(httpOrder).toEqual(Array.from({ length: http * 2 }, (_, i) => `http ${i + 1}`));
    const pyOrder = lines.map(([, m]) => m).filter((m) => m.startsWith('step '));
    expect(pyOrder.map((m) => Number(/step (\d+)/.exec(m)?.[1]))).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
    for (const [index, live] of liveViewers.entries()) {
      // what came, when it does not all come: the expectation says which lines are missing
      await waitFor(() => live.seen.length >= total || undefined, 30_000, `every line live on hub ${index}`).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      live.source.close();
      expect(live.seen).toEqual(lines);
    }
    await waitFor(() => followed.trim().split('\n').length >= total || undefined, 30_000, 'every line followed').catch(() => {});
    // each once (the stored lines it starts with come in time order, the list's, not seq order)
    expect(followed.trim().split('\n').sort()).toEqual(lines.map(([, message]) => message).sort());
    // a viewer resuming half way, on either hub, gets the rest once each, in seq order
    const half = lines[Math.floor(total / 2)]![0];
    for (const hub of [a, b]) {
      const resumed = viewer(hub.url, 'mixed', half);
      const rest = lines.filter(([seq]) => seq > half);
      await waitFor(() => resumed.seen.length >= rest.length || undefined, 30_000, `the resumed lines on ${hub.url}`);
      resumed.source.close();
      expect(resumed.seen).toEqual(rest);
    }
  }, 120_000);
});
