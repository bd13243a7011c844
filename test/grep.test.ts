/** Search across runs: `runlog grep` on the local store and through a hub, and GET /api/search. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { databaseFile } from '../src/core/config.js';
import { PostgresStore } from '../src/store/postgres/store.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import type { Store } from '../src/store/store.js';
import { cli, getJson, hubOn, tempDir } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

describe.each(['local store', 'hub'])('runlog grep (%s)', (mode) => {
  let hub: RunningHub | undefined;
  let data: string;
  const where = () => (hub ? ['--hub', hub.url] : ['--data', data]);

  beforeAll(async () => {
    data = tempDir();
    if (mode === 'hub') hub = await hubOn(tempDir());
    const train = 'echo "loading data"; echo "ERROR CUDA out of memory"; echo "retrying"';
    const evaluate = 'echo "cuda device 0 ready"; printf "\\033[31mCuda\\033[0m kernel done\\n"';
    expect((await cli(['run', '--quiet', '--id', 'train', '--label', 'team=vision', ...where(), '--', '/bin/sh', '-c', train])).code).toBe(0);
    expect((await cli(['run', '--quiet', '--id', 'eval', '--label', 'team=nlp', ...where(), '--', '/bin/sh', '-c', evaluate])).code).toBe(0);
  });
  afterAll(async () => hub?.close());

  const grep = async (...args: string[]) => cli(['grep', ...args, ...where()]);

  it('finds a text in every run, any case, newest first, each line with its run and seq', async () => {
    const result = await grep('cuda');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^eval:2: \S+Z Cuda kernel done$/);
    expect(lines[1]).toMatch(/^eval:1: \S+Z cuda device 0 ready$/);
    expect(lines[2]).toMatch(/^train:2: \S+Z ERROR CUDA out of memory$/);
  });

  it('refuses --since after --until (exit 2, naming both): it answered "no match", exit 1', async () => {
    const result = await grep('cuda', '--since', '1m', '--until', '1h');
    expect([result.code, result.stdout, result.stderr]).toEqual([2, '', 'runlog: --since 1m is after --until 1h: nothing could match\n']);
  });

  it('narrows by label, level, time and count, and prints JSON with the run id', async () => {
    expect((await grep('cuda', '--label', 'team=vision')).stdout).toMatch(/^train:2: /);
    expect((await grep('cuda', '--level', 'ERROR')).stdout.trim().split('\n')).toHaveLength(1);
    expect((await grep('cuda', '--since', '1h')).stdout.trim().split('\n')).toHaveLength(3);
    expect((await grep('cuda', '--until', '2020-01-01T00:00:00Z')).code).toBe(1);
    const json = (await grep('cuda', '--limit', '1', '--json')).stdout.trim().split('\n');
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0] ?? '{}')).toMatchObject({ run_id: 'eval', seq: 2, stream: 'eval', message: '\x1b[31mCuda\x1b[0m kernel done' });
  });

  it('exits 1 when nothing matches, and refuses a bad flag naming it', async () => {
    const none = await grep('no such text');
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    const bad = await grep('x', '--level', 'LOUD');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--level');
  });

  it('takes --limit 1 to 10000 here and through a hub alike (the local store took 20000, a hub refused it)', async () => {
    for (const limit of ['20000', '0']) {
      const refused = await grep('cuda', '--limit', limit);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`runlog: --limit: expected 1 to 10000 (the hub's limit for one page), got "${limit}"`);
    }
    expect((await grep('cuda', '--limit', '10000')).stdout.trim().split('\n')).toHaveLength(3);
    expect((await cli(['runs', '--limit', '20000', ...where()])).stderr).toContain('--limit: expected 1 to 10000');
  });

  it('refuses one label key given two values, where the CLI kept the last one in silence', async () => {
    const twice = await grep('cuda', '--label', 'team=vision', '--label', 'team=nlp');
    expect(twice.code).toBe(2);
    expect(twice.stdout).toBe('');
    expect(twice.stderr).toContain('--label: team given twice (team=vision, team=nlp); a run has one value a key');
    // the same pair twice is one label
    expect((await grep('cuda', '--label', 'team=vision', '--label', 'team=vision')).stdout).toMatch(/^train:2: /);
  });
});

describe.each(['local store', 'hub'])('time bounds to the µs (%s)', (mode) => {
  // three lines 400 µs apart, inside one millisecond: a bound rounded to the ms takes all three
  const T = Date.parse('2026-12-01T10:00:00Z') * 1000;
  let hub: RunningHub | undefined;
  let data: string;
  const where = () => (hub ? ['--hub', hub.url] : ['--hub', 'none', '--data', data]);

  beforeAll(async () => {
    data = tempDir();
    const store = new SqliteStore(databaseFile(data));
    await store.upsertRun({ id: 'precise', command: 'seeded' });
    await store.appendRecords('precise', [100, 500, 900].map((us, i) => ({ stream: 'precise', seq: i + 1, timestamp: T + us, level: 'INFO' as const, message: `precise ${us}` })));
    await store.close();
    if (mode === 'hub') hub = await hubOn(data);
  });
  afterAll(async () => hub?.close());

  it('runlog grep --since/--until at a line’s µs: that line only, as the local store gives it', async () => {
    const result = await cli(['grep', 'precise', '--since', '2026-12-01T10:00:00.000500Z', '--until', '2026-12-01T10:00:00.000500Z', ...where()]);
    expect(result.stdout).toBe('precise:2: 2026-12-01T10:00:00.000500Z precise 500\n');
  });

  it('runlog logs --since at a line’s µs: from that line on', async () => {
    const result = await cli(['logs', 'precise', '--since', '2026-12-01T10:00:00.000500Z', ...where()]);
    expect(result.stdout).toBe('precise 500\nprecise 900\n');
  });
});

describe('GET /api/search', () => {
  let hub: RunningHub;
  const hubData = tempDir();
  beforeAll(async () => {
    hub = await hubOn(hubData);
    expect((await cli(['run', '--quiet', '--id', 'one', '--label', 'k=v', '--hub', hub.url, '--', '/bin/sh', '-c', 'echo "needle here"'])).code).toBe(0);
  });
  afterAll(async () => hub.close());

  it('answers matches with run_id and seq, and a 400 naming a bad parameter', async () => {
    const found = await getJson<{ logs: { run_id: string; seq: number; message: string }[]; truncated: boolean }>(`${hub.url}/api/search?q=NEEDLE&label=k%3Dv`);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ logs: [{ run_id: 'one', seq: 1, message: 'needle here' }], truncated: false });
    expect((await getJson<{ field: string }>(`${hub.url}/api/search?q=x&label=novalue`)).body).toMatchObject({ field: 'label' });
    expect((await getJson<{ field: string }>(`${hub.url}/api/search?q=x&limit=0`)).status).toBe(400);
    expect((await getJson<{ field: string }>(`${hub.url}/api/search?since=yesterday`)).body).toMatchObject({ field: 'since' });
  });

  it("gives a worker's line its metadata as /api/logs gives it (the sender's object, with the logger), not nested in attrs", async () => {
    const beat = { status: 'idle', logs: [{ timestamp: 1_764_590_000.5, level: 30, message: 'needle in a worker', task_id: 't-9', metadata: { gpu: 3, step: 'eval' } }] };
    expect((await fetch(`${hub.url}/api/workers/w-meta/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(beat) })).status).toBe(200);
    const listed = (await getJson<{ logs: { metadata: unknown }[] }>(`${hub.url}/api/logs?source_id=w-meta`)).body.logs[0];
    const found = (await getJson<{ logs: Record<string, unknown>[] }>(`${hub.url}/api/search?q=needle%20in%20a%20worker`)).body.logs[0];
    expect(found).toMatchObject({ worker_id: 'w-meta', task_id: 't-9', message: 'needle in a worker', metadata: { gpu: 3, step: 'eval' } });
    expect(found?.metadata).toEqual(listed?.metadata);
    expect((found?.attrs as Record<string, unknown> | undefined)?.metadata).toBeUndefined();
    // runlog grep --json prints it the same, through the hub and on the store itself
    for (const where of [['--hub', hub.url], ['--db', databaseFile(hubData)]]) {
      const printed = await cli(['grep', 'needle in a worker', '--json', ...where]);
      expect(JSON.parse(printed.stdout)).toEqual(found);
    }
  });

  it('refuses one label key given two values (a run has one), where the last one won and matched', async () => {
    const twice = await getJson<{ field: string; message: string }>(`${hub.url}/api/search?q=needle&label=k%3Dw&label=k%3Dv`);
    expect(twice.status).toBe(400);
    expect(twice.body).toMatchObject({ field: 'label' });
    expect(twice.body.message).toContain('"k"');
    // the same pair twice is one condition
    expect((await getJson<{ logs: unknown[] }>(`${hub.url}/api/search?q=needle&label=k%3Dv&label=k%3Dv`)).body.logs).toHaveLength(1);
  });
});

/** `runlog grep --db` (and RUNLOG_DB) searches a store directly, as `runlog server --db` opens it: no hub. */
describe('runlog grep --db', () => {
  const seed = async (store: Store) => {
    await store.upsertRun({ id: 'direct', command: 'seeded' });
    await store.appendRecords('direct', [
      { stream: 'direct', seq: 1, timestamp: 1_000, level: 'INFO', message: 'warming up' },
      { stream: 'direct', seq: 2, timestamp: 2_000, level: 'ERROR', message: 'CUDA out of memory' },
    ]);
  };
  // a hub URL that answers nothing: a search that asked a hub would fail instead of reading the store
  const noHub = { RUNLOG_HUB: 'http://127.0.0.1:9' };

  it('searches a SQLite file given by --db or RUNLOG_DB', async () => {
    const file = join(tempDir(), 'elsewhere.db');
    const store = new SqliteStore(file);
    await seed(store);
    await store.close();
    const byFlag = await cli(['grep', 'cuda', '--db', file, '--data', tempDir()], noHub);
    expect(byFlag.stderr).toBe('');
    expect(byFlag.stdout).toMatch(/^direct:2: \S+Z CUDA out of memory\n$/);
    const byEnv = await cli(['grep', 'cuda', '--data', tempDir()], { ...noHub, RUNLOG_DB: file });
    expect(byEnv.stdout).toMatch(/^direct:2: /);
  });

  describeWithPostgres('on PostgreSQL', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
      const store = await PostgresStore.open(database.url);
      await seed(store);
      await store.close();
    });
    afterAll(async () => database?.drop());

    it('searches a PostgreSQL database given by --db, and says so when the database has no runlog schema', async () => {
      const found = await cli(['grep', 'memory', '--json', '--db', database.url], noHub);
      expect(found.code).toBe(0);
      expect(JSON.parse(found.stdout)).toMatchObject({ run_id: 'direct', seq: 2, message: 'CUDA out of memory' });
      const empty = await createTestDatabase();
      try {
        const refused = await cli(['grep', 'memory', '--db', empty.url], noHub);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toContain('runlog migrate');
      } finally {
        await empty.drop();
      }
    });
  });
});
