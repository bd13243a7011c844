/**
 * Two hubs on one PostgreSQL database with different secret keys (each made its own
 * <data>/secret.key): a task whose environment one sealed cannot be opened by the other.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { Run, TaskSpec } from '../src/store/store.js';
import { getJson, tempDir } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const post = (url: string, body: object) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describeWithPostgres('hubs on one PostgreSQL database with different secret keys', () => {
  let database: TestDatabase;
  let a: RunningHub;
  let b: RunningHub;
  beforeAll(async () => {
    database = await createTestDatabase();
    const hub = () => startHub({ db: database.url, host: '127.0.0.1', port: 0, dataDir: tempDir() }, { audit: () => {} });
    a = await hub();
    b = await hub();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('answers a claim on the hub without the key 503 SECRET_KEY_MISMATCH, keeps the task queued, and the hub with the key gives it out', async () => {
    expect((await post(`${a.url}/api/tasks`, { id: 'sealed', command: ['env'], env: { HF_TOKEN: 'hf_secret' } })).status).toBe(201);
    const refused = await post(`${b.url}/api/tasks/claim`, { worker_id: 'w-b' });
    expect(refused.status).toBe(503);
    const error = (await refused.json()) as { error: string; message: string };
    expect(error.error).toBe('SECRET_KEY_MISMATCH');
    expect(error.message).toMatch(/same secret key file/);
    const run = await getJson<Run>(`${a.url}/api/runs/sealed`);
    expect(run.body).toMatchObject({ status: 'queued', worker_id: null, started_at: null });
    const claimed = await post(`${a.url}/api/tasks/claim`, { worker_id: 'w-a' });
    expect(claimed.status).toBe(200);
    const task = (await claimed.json()) as { run: Run; spec: TaskSpec };
    expect(task.run).toMatchObject({ id: 'sealed', status: 'running', worker_id: 'w-a' });
    expect(task.spec.env).toEqual({ HF_TOKEN: 'hf_secret' });
  });

  it('still gives out a task without an environment through either hub', async () => {
    expect((await post(`${a.url}/api/tasks`, { id: 'plain', command: ['true'] })).status).toBe(201);
    const claimed = await post(`${b.url}/api/tasks/claim`, { worker_id: 'w-b' });
    expect(claimed.status).toBe(200);
    expect(((await claimed.json()) as { run: Run }).run.id).toBe('plain');
  });

  it('passes over a task it cannot open: a worker on the hub without the key gets the task queued behind it, and the sealed one waits for the hub with the key', async () => {
    expect((await post(`${a.url}/api/tasks`, { id: 'sealed-first', command: ['env'], env: { HF_TOKEN: 'hf_secret' } })).status).toBe(201);
    expect((await post(`${a.url}/api/tasks`, { id: 'plain-behind', command: ['true'] })).status).toBe(201);
    const claimed = await post(`${b.url}/api/tasks/claim`, { worker_id: 'w-b' });
    expect(claimed.status).toBe(200);
    expect(((await claimed.json()) as { run: Run }).run).toMatchObject({ id: 'plain-behind', worker_id: 'w-b' });
    // the next claim through that hub does not take the sealed task again (no running/queued flicker)
    expect((await post(`${b.url}/api/tasks/claim`, { worker_id: 'w-b2' })).status).toBe(204);
    expect((await getJson<Run>(`${a.url}/api/runs/sealed-first`)).body).toMatchObject({ status: 'queued', worker_id: null });
    const opened = await post(`${a.url}/api/tasks/claim`, { worker_id: 'w-a' });
    expect(((await opened.json()) as { run: Run; spec: TaskSpec }).spec.env).toEqual({ HF_TOKEN: 'hf_secret' });
  });
});
