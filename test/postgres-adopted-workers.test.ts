/**
 * An orchestrator's own `workers` table whose `status` column takes only the orchestrator's words
 * (a CHECK: inactive, spawning, active, terminating, error, terminated), as fleets' tables have.
 * A runlog worker's last heartbeat says `offline` (a clean stop): the hub wrote that word into the
 * column, the CHECK refused it, and the heartbeat was a 500 with its lines lost; the worker then
 * spooled it and replayed it first forever, each time a 500, its later heartbeats behind it.
 * The same with a `current_task_id` that holds the orchestrator's task ids only (a uuid referencing
 * its tasks table), while a runlog worker runs a runlog task.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { SystemLog, Worker } from '../src/store/store.js';
import { FIXTURES, getJson, tempDir } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

function psql(url: string, args: string[]): string {
  const result = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', ...args, url], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`psql ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

describeWithPostgres("an orchestrator's workers table whose status and current_task_id take only its own values", () => {
  let database: TestDatabase;
  let hub: RunningHub;
  beforeAll(async () => {
    database = await createTestDatabase();
    psql(database.url, [
      '-c',
      `CREATE TABLE tasks (id UUID PRIMARY KEY);
       CREATE TABLE workers (id TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'inactive'
         CHECK (status IN ('inactive', 'spawning', 'active', 'terminating', 'error', 'terminated')),
         last_heartbeat TIMESTAMPTZ, vram_total_mb INT, vram_used_mb INT, current_task_id UUID REFERENCES tasks (id))`,
    ]);
    psql(database.url, ['-c', "INSERT INTO workers (id, status, last_heartbeat) VALUES ('gpu-7', 'active', NOW())"]);
    psql(database.url, ['-f', join(FIXTURES, 'seed', 'tables.sql')]);
    psql(database.url, ['-f', join(FIXTURES, 'seed', 'function.sql')]);
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: database.url }, { audit: () => {} });
  });
  afterAll(async () => {
    await hub?.close();
    await database?.drop();
  });

  const beat = (body: object) =>
    fetch(`${hub.url}/api/workers/gpu-7/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it("takes a worker's clean stop with its last lines, leaving the column to the orchestrator; the worker is offline in the API", async () => {
    const line = (message: string) => ({ timestamp: Date.now() / 1000, level: 'INFO', message });
    // a runlog task's id is no uuid of the orchestrator's tasks: the column keeps its value
    expect((await beat({ status: 'busy', current_task_id: 't-1', logs: [line('working')] })).status).toBe(200);
    expect((await getJson<Worker>(`${hub.url}/api/workers/gpu-7`)).body).toMatchObject({ status: 'active', state: 'busy' });
    expect(psql(database.url, ['-c', "SELECT status, current_task_id IS NULL FROM workers WHERE id = 'gpu-7'"])).toBe('active|t');
    const known = '8b0e1a52-4c1e-4a8e-9d51-0f8a0b6f0a11'; // not in its tasks table either
    expect((await beat({ status: 'busy', current_task_id: known, logs: [] })).status).toBe(200);
    const stop = await beat({ status: 'offline', logs: [line('worker gpu-7 stopping: goodbye')] });
    expect([stop.status, await stop.json()]).toEqual([200, { success: true, logs_inserted: 1 }]);
    expect((await getJson<Worker>(`${hub.url}/api/workers/gpu-7`)).body).toMatchObject({ status: 'offline', state: 'offline' });
    expect((await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=gpu-7`)).body.logs.map((l) => l.message)).toEqual([
      'worker gpu-7 stopping: goodbye',
      'working',
    ]);
    expect(psql(database.url, ['-c', "SELECT status FROM workers WHERE id = 'gpu-7'"])).toBe('active');
    // back again: active as before
    expect((await beat({ status: 'idle', logs: [line('started again')] })).status).toBe(200);
    expect((await getJson<Worker>(`${hub.url}/api/workers/gpu-7`)).body).toMatchObject({ status: 'active', state: 'idle' });
  });
});
