/**
 * A task's command, setup steps, cwd and environment reach execve on a worker, which takes no NUL
 * byte in any of them. The hub took one (201), and the worker that claimed the task could not start
 * it ("must be a string without null bytes"), leaving its run `running`: now a 400 naming the field.
 * So is an empty cwd, which the worker could only fail.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../src/core/config.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { tempDir } from './helpers.js';

describe('POST /api/tasks with a NUL byte', () => {
  let app: FastifyInstance;
  let store: SqliteStore;
  beforeAll(async () => {
    const dir = tempDir();
    store = new SqliteStore(join(dir, 'runlog.db'));
    app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir: dir }) });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it.each([
    ['command[1]', { command: ['echo', 'a\u0000b'] }],
    ['setup[0]', { command: ['true'], setup: ['pip install\u0000x'] }],
    ['cwd', { command: ['true'], cwd: '/tmp\u0000x' }],
    ['env.TOKEN', { command: ['true'], env: { TOKEN: 'secret\u0000value' } }],
  ])('is a 400 naming %s, and queues nothing', async (field, spec) => {
    const answer = await app.inject({ method: 'POST', url: '/api/tasks', payload: { id: 'nul-task', ...spec } });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({ error: 'BAD_REQUEST', field });
    expect(answer.json().message).toContain('NUL');
    // an environment value is a secret: never echoed
    expect(answer.body).not.toContain('secret');
    expect(await store.getRun('nul-task')).toBeUndefined();
  });

  it('still takes every other character', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api/tasks', payload: { id: 'odd-task', command: ['echo', 'tab\there', 'é ✓ \u0001'], env: { V: 'line\nbreak' } } });
    expect(answer.statusCode).toBe(201);
  });

  // an empty cwd was taken (201), and the worker that claimed the task failed it, exit 127:
  // "working directory  does not exist"
  it('is a 400 naming cwd when cwd is empty, and queues nothing; null is the worker\'s own directory', async () => {
    const empty = await app.inject({ method: 'POST', url: '/api/tasks', payload: { id: 'empty-cwd', command: ['true'], cwd: '' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ error: 'BAD_REQUEST', field: 'cwd' });
    expect(await store.getRun('empty-cwd')).toBeUndefined();
    const none = await app.inject({ method: 'POST', url: '/api/tasks', payload: { id: 'null-cwd', command: ['true'], cwd: null } });
    expect(none.statusCode).toBe(201);
  });
});
