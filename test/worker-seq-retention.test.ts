/**
 * A worker's line seqs never go back (issue 10): once retention had deleted all of a worker's lines
 * and the hub restarted (or another hub on the database numbered them), its next line was stored
 * as seq 1 again, and `runlog logs worker:<id> -f` and an SSE viewer resuming with Last-Event-ID
 * skipped the new lines as seen. Real hub processes, on SQLite and on a real PostgreSQL.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, getJson, tempDir, waitFor, startHubProcess, type HubProcess } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

async function stop(hub: HubProcess): Promise<void> {
  if (hub.child.exitCode !== null) return;
  const exited = new Promise((resolve) => hub.child.once('exit', resolve));
  hub.child.kill('SIGTERM');
  await exited;
}

async function beat(hub: HubProcess, worker: string, logs: { timestamp: string; level: string; message: string }[]): Promise<void> {
  const answer = await fetch(`${hub.url}/api/workers/${worker}/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ logs }),
  });
  expect(answer.status).toBe(200);
}

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** Stores lines 3 days old, deletes them with retention, then restarts the hub (`restart` gives the new one). */
async function linesGoneAfterRestart(hub: HubProcess, restart: () => Promise<HubProcess>, worker: string): Promise<HubProcess> {
  await beat(hub, worker, [1, 2, 3].map((n) => ({ timestamp: daysAgo(3), level: 'INFO', message: `old ${n}` })));
  const cleanup = await fetch(`${hub.url}/api/cleanup`, { method: 'POST' });
  expect(cleanup.status).toBe(200);
  // gone, by this pass or by the hub's own first one (it starts with the hub and may still run)
  const { body } = await getJson<{ logs: { message: string }[] }>(`${hub.url}/api/logs?source_id=${worker}`);
  expect(body.logs.filter((line) => line.message.startsWith('old '))).toEqual([]);
  await stop(hub);
  return restart();
}

function behaves(name: string, serverArgs: () => string[]) {
  let hubs: HubProcess[] = [];
  const start = async () => {
    const hub = await startHubProcess(serverArgs());
    hubs.push(hub);
    return hub;
  };
  afterEach(async () => {
    for (const hub of hubs) await stop(hub);
    hubs = [];
  });

  it(`numbers a worker's next line after the ones retention deleted, across a restart (${name})`, async () => {
    const hub = await linesGoneAfterRestart(await start(), start, 'w-gone');
    await beat(hub, 'w-gone', [{ timestamp: new Date().toISOString(), level: 'INFO', message: 'new life' }]);
    const { body } = await getJson<{ logs: { seq: number; message: string }[] }>(`${hub.url}/api/logs?source_id=w-gone`);
    expect(body.logs.map((r) => [r.seq, r.message])).toEqual([[4, 'new life']]);
    expect((await getJson<{ last_seq: number }>(`${hub.url}/api/workers/w-gone`)).body.last_seq).toBe(4);
  });

  it(`sends an SSE viewer resuming with Last-Event-ID, and runlog logs -f, the lines after retention (${name})`, async () => {
    const first = await start();
    await beat(first, 'w-f', [{ timestamp: new Date().toISOString(), level: 'INFO', message: 'kept' }]);
    const hub = await linesGoneAfterRestart(first, start, 'w-f');
    // a viewer that saw seq 4 (the last line before the cleanup) resumes after it
    const following = cli(['logs', 'worker:w-f', '-f', '--hub', hub.url]);
    let out = '';
    following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitFor(() => out.includes('kept') || undefined, 20_000, 'the stored line');
      const resumed = fetch(`${hub.url}/api/logs/stream?source_id=w-f`, { headers: { 'Last-Event-ID': '4' } });
      await beat(hub, 'w-f', [{ timestamp: new Date().toISOString(), level: 'INFO', message: 'after retention' }]);
      await waitFor(() => out.includes('after retention') || undefined, 20_000, 'the new line in runlog logs -f');
      const reader = (await resumed).body!.getReader();
      let text = '';
      while (!text.includes('after retention')) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      expect(text).toContain('id: 5\n');
      expect(out.split('\n').filter((line) => line !== '')).toEqual(['kept', 'after retention']);
    } finally {
      following.child.kill('SIGINT');
      await following;
    }
  });
}

describe('a SQLite hub', () => {
  const dir = tempDir();
  behaves('SQLite', () => ['--data', dir]);
});

describeWithPostgres('PostgreSQL hubs', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  behaves('PostgreSQL', () => ['--db', database.url, '--data', tempDir()]);

  it("numbers after the seeds' lines the seeds' cleanup_old_system_logs() deleted", async () => {
    const hub = await startHubProcess(['--db', database.url, '--data', tempDir()]);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // the database numbers the seeds' function's lines per worker (function-seqs.ts)
      const old = JSON.stringify([{ timestamp: daysAgo(3), level: 'INFO', message: 'seed line' }]);
      // its seq read in the transaction that wrote it: the hub's own retention (48 h) may delete a
      // line 3 days old as soon as it is committed (CI: the row was gone before the read)
      await client.query('BEGIN');
      await client.query('SELECT func_worker_heartbeat_with_logs($1, NULL, NULL, $2::jsonb, NULL)', ['w-seed', old]);
      const { rows } = await client.query<{ seq: string }>(`SELECT seq FROM system_logs WHERE source_id = 'w-seed'`);
      await client.query('COMMIT');
      const seedSeq = Number(rows[0]?.seq);
      await client.query('SELECT cleanup_old_system_logs()');
      await beat(hub, 'w-seed', [{ timestamp: new Date().toISOString(), level: 'INFO', message: 'over HTTP' }]);
      const { body } = await getJson<{ logs: { seq: number }[] }>(`${hub.url}/api/logs?source_id=w-seed`);
      expect(body.logs.map((r) => r.seq)).toEqual([seedSeq + 1]);
    } finally {
      await client.end();
      await stop(hub);
    }
  });

  it('numbers after the lines a TRUNCATE of system_logs removed (TRUNCATE fires no DELETE trigger)', async () => {
    const hub = await startHubProcess(['--db', database.url, '--data', tempDir()]);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const now = new Date().toISOString();
      await beat(hub, 'w-trunc', [1, 2, 3].map((i) => ({ timestamp: now, level: 'INFO', message: `before ${i}` })));
      await client.query('TRUNCATE system_logs');
      // the database numbers the function's line (function-seqs.ts): from what it keeps, not the hub's memory
      const logs = JSON.stringify([{ timestamp: new Date().toISOString(), level: 'INFO', message: 'by the function' }]);
      await client.query('SELECT func_worker_heartbeat_with_logs($1, NULL, NULL, $2::jsonb, NULL)', ['w-trunc', logs]);
      const { body } = await getJson<{ logs: { seq: number; message: string }[] }>(`${hub.url}/api/logs?source_id=w-trunc`);
      expect(body.logs.map((r) => [r.seq, r.message])).toEqual([[4, 'by the function']]);
    } finally {
      await client.end();
      await stop(hub);
    }
  });
});
