/**
 * The seeds' contract on PostgreSQL: the seed's SQL run verbatim with psql, and a seed-style
 * Python worker (psycopg2, the function called every second with its buffer of lines) seen live
 * through a hub, in the API and the CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { afterAll, expect, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/store.js';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { SystemLog, Worker } from '../src/store/store.js';
import { nowMicros } from '../src/core/record.js';
import { cli, FIXTURES, getJson, PYTHON, tempDir, waitFor } from './helpers.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './postgres.js';

const SEED = join(FIXTURES, 'seed');
/**
 * Line times an hour ago, to the second: fixed dates aged past the 48 h retention (the hub's, the
 * seed's cleanup) and the tests began failing two days after they were written.
 */
const BASE_MS = Math.floor(Date.now() / 1000 - 3600) * 1000;
const at = (seconds: number) => new Date(BASE_MS + seconds * 1000).toISOString().replace('.000Z', 'Z');
/** the same time as psql prints a timestamptz (PGTZ=UTC): `2026-11-30 10:00:01+00` */
const pgText = (seconds: number) => at(seconds).replace('T', ' ').replace('Z', '+00');

/** `psql -v ON_ERROR_STOP=1 -f FILE` (or -c SQL): its output, and it must succeed. */
function psql(url: string, what: { file?: string; sql?: string }): string {
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', ...(what.file ? ['-f', what.file] : ['-c', what.sql ?? '']), url];
  const result = spawnSync('psql', args, { encoding: 'utf8', env: { ...process.env, PGTZ: 'UTC' } });
  if (result.status !== 0) throw new Error(`psql ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

describeWithPostgres("the seeds' contract on PostgreSQL", () => {
  const databases: TestDatabase[] = [];
  const hubs: RunningHub[] = [];
  afterAll(async () => {
    for (const hub of hubs) await hub.close();
    for (const database of databases) await database.drop();
  });
  const freshDatabase = async () => {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  };

  it("runs the seed's function and Check Database queries verbatim on a migrated database, answering what the seed says", async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    // the seed's own function replaces runlog's (CREATE OR REPLACE): the hub must work with either
    psql(url, { file: join(SEED, 'function.sql') });
    expect(psql(url, { file: join(SEED, 'check-function.sql') }).trim()).toBe('{"success": true, "logs_inserted": 0}');
    psql(url, { sql: "INSERT INTO workers (id) VALUES ('test-worker-123')" });
    const logs = JSON.stringify([
      { timestamp: at(0), level: 'INFO', message: 'Worker started', task_id: null, metadata: {} },
      { timestamp: at(1), level: 'WARNING', message: 'Low VRAM detected', task_id: 't-1', metadata: { module: 'worker' } },
    ]);
    expect(psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('test-worker-123', 24000, 20000, '${logs}'::jsonb, 't-1')` }).trim()).toBe(
      '{"success": true, "logs_inserted": 2}',
    );
    expect(psql(url, { file: join(SEED, 'check-database.sql') }).trim().split('\n')).toEqual([
      `${pgText(1)}|WARNING|Low VRAM detected|t-1`,
      `${pgText(0)}|INFO|Worker started|`,
    ]);
    expect(psql(url, { sql: "SELECT status, vram_used_mb, current_task_id FROM workers WHERE id = 'test-worker-123'" }).trim()).toBe('active|20000|t-1');
    // the seed's retention: 48 hours, as the seed wrote it
    psql(url, { sql: "UPDATE system_logs SET timestamp = NOW() - INTERVAL '49 hours' WHERE message = 'Worker started'" });
    psql(url, { sql: 'SELECT cleanup_old_system_logs()' });
    expect(psql(url, { sql: 'SELECT message FROM system_logs' }).trim()).toBe('Low VRAM detected');
    const store = await PostgresStore.open(url);
    try {
      expect((await store.querySystemLogs({ source_id: 'test-worker-123' }))[0]).toMatchObject({
        message: 'Low VRAM detected',
        level: 'WARNING',
        task_id: 't-1',
        source_type: 'worker',
        metadata: { module: 'worker' },
      });
      expect(await store.getWorker('test-worker-123', nowMicros())).toMatchObject({ status: 'active', vram_used_mb: 20000, current_task_id: 't-1' });
    } finally {
      await store.close();
    }
  });

  it("reads the levels the seed's function stores as they came: a levelno as text, the seed's essential, a NUL-free line", async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    const logs = JSON.stringify([
      { timestamp: at(0), level: 40, message: 'numeric forty' },
      { timestamp: at(1), level: 'essential', message: 'essential line' },
      { timestamp: at(2), level: '25', message: 'between' },
    ]);
    psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('lvl-w', NULL, NULL, '${logs}'::jsonb, NULL)` });
    const store = await PostgresStore.open(url);
    try {
      const all = await store.querySystemLogs({ source_id: 'lvl-w' });
      expect(all.map((l) => [l.message, l.level])).toEqual([['between', 'INFO'], ['essential line', 'INFO'], ['numeric forty', 'ERROR']]);
      expect((await store.querySystemLogs({ source_id: 'lvl-w', level: 'ERROR' })).map((l) => l.message)).toEqual(['numeric forty']);
      expect((await store.querySystemLogs({ source_id: 'lvl-w', level: 'DEBUG' })).map((l) => l.message)).toHaveLength(3);
      expect((await store.searchLines({ q: 'forty', level: 'ERROR' })).records.map((r) => r.message)).toEqual(['numeric forty']);
    } finally {
      await store.close();
    }
  });

  it('migrate --dry-run on an empty database lists every step and writes nothing (not even schema_migrations); cleanup --db', async () => {
    const { url } = await freshDatabase();
    const dry = await cli(['migrate', '--db', url, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would apply 1:');
    expect(dry.stdout).toContain('would apply 8: notices for the hubs when tokens change');
    expect(dry.stdout).toContain('would apply 9:');
    expect(psql(url, { sql: "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" }).trim()).toBe('0');
    // `cleanup --db` cleans that database directly (the README said so before the flag existed)
    expect((await cli(['migrate', '--db', url])).code).toBe(0);
    psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('old-w', 1, 1, '[{"timestamp": "2020-01-01T00:00:00Z", "level": "INFO", "message": "old"}]'::jsonb, NULL)` });
    const cleaned = await cli(['cleanup', '--db', url, '--older-than', '1d']);
    expect(cleaned.stdout).toBe('deleted 1 worker lines and 0 runs\n');
  });

  it('refuses a database a newer runlog migrated (hub and migrate), and changes nothing in it', async () => {
    const { url } = await freshDatabase();
    expect((await cli(['migrate', '--db', url])).code).toBe(0);
    const latest = Number(psql(url, { sql: 'SELECT max(version) FROM schema_migrations' }).trim());
    psql(url, { sql: `INSERT INTO schema_migrations (version, name) VALUES (${latest + 2}, 'from the future')` });
    for (const args of [['migrate', '--db', url], ['migrate', '--db', url, '--dry-run'], ['server', '--db', url, '--port', '0']]) {
      const refused = await cli(args);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`schema version ${latest + 2}, made by a newer runlog`);
    }
    expect(psql(url, { sql: 'SELECT count(*) FROM schema_migrations' }).trim()).toBe(String(latest + 1));
  });

  it("adopts a database made by the seed's SQL (tables, indexes, function) with its rows: nothing lost, no index twice", async () => {
    const { url } = await freshDatabase();
    // the orchestrator's own workers table, as the seed assumes it exists
    psql(url, { sql: 'CREATE TABLE workers (id TEXT PRIMARY KEY, status TEXT, last_heartbeat TIMESTAMPTZ, vram_total_mb INT, vram_used_mb INT, current_task_id TEXT)' });
    psql(url, { sql: "INSERT INTO workers (id, status, last_heartbeat) VALUES ('gpu-7', 'active', NOW()), ('gpu-never', 'active', NULL)" });
    psql(url, { file: join(SEED, 'tables.sql') });
    psql(url, { file: join(SEED, 'function.sql') });
    psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('gpu-7', 80000, 100, '[{"timestamp": "${at(0)}", "level": "INFO", "message": "before runlog"}]'::jsonb, NULL)` });
    const migrated = await cli(['migrate', '--db', url]);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain('applied 2:');
    const store = await PostgresStore.open(url);
    try {
      expect((await store.querySystemLogs({})).map((l) => l.message)).toEqual(['before runlog']);
      expect((await store.listWorkers(nowMicros())).map((w) => [w.id, w.vram_total_mb])).toEqual([['gpu-7', 80000], ['gpu-never', null]]);
      // a row no heartbeat ever reached is offline, with no heartbeat time (not runlog's first sight of it)
      expect(await store.getWorker('gpu-never', nowMicros())).toMatchObject({ status: 'offline', last_heartbeat: null, last_heartbeat_age_s: null });
      // first seen no later than its last heartbeat, though runlog's first_seen column came with the migration
      const known = await store.getWorker('gpu-7', nowMicros());
      expect(Date.parse(known?.first_seen ?? '')).toBeLessThanOrEqual(Date.parse(known?.last_heartbeat ?? ''));
      // a worker whose first call finds no row (the function updates, then inserts its lines) is heard now
      psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('gpu-new', 1, 1, '[{"timestamp": "${at(0)}", "level": "INFO", "message": "hello"}]'::jsonb, NULL)` });
      expect(await store.getWorker('gpu-new', nowMicros())).toMatchObject({ status: 'active', last_heartbeat: expect.any(String) });
      psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('gpu-never', 1, 1, NULL, NULL)` });
      expect((await store.getWorker('gpu-never', nowMicros()))?.status).toBe('active');
    } finally {
      await store.close();
    }
    const table = await cli(['workers', '--db', url]);
    expect(table.stdout).toMatch(/gpu-7\s+active/);
    const indexes = psql(url, { sql: "SELECT indexname FROM pg_indexes WHERE tablename = 'system_logs' ORDER BY 1" }).trim().split('\n');
    expect(indexes).toEqual(['idx_system_logs_level', 'idx_system_logs_source', 'idx_system_logs_task_id', 'idx_system_logs_timestamp', 'system_logs_pkey', 'system_logs_stream_seq', 'system_logs_worker_order']);
  });

  it("adopts an orchestrator's workers table as it is: a NOT NULL column runlog cannot fill, roles with only the seed's rights; its other rows stay out of /api/logs", async () => {
    const { url } = await freshDatabase();
    const role = `seedw_${url.split('/').pop()?.replace(/\W/g, '')}`;
    psql(url, { sql: 'CREATE TABLE workers (id TEXT PRIMARY KEY, status TEXT, last_heartbeat TIMESTAMPTZ, vram_total_mb INT, vram_used_mb INT, current_task_id TEXT, instance_type TEXT NOT NULL)' });
    psql(url, { sql: "INSERT INTO workers (id, status, last_heartbeat, instance_type) VALUES ('orch-old', 'active', NOW(), 'a100')" });
    psql(url, { file: join(SEED, 'tables.sql') });
    psql(url, { file: join(SEED, 'function.sql') });
    psql(url, { sql: "INSERT INTO system_logs (level, message, source_type, source_id) VALUES ('INFO', 'orchestrator started', 'orchestrator', 'orch-main')" });
    expect((await cli(['migrate', '--db', url])).code).toBe(0);
    // the seed's rights: SELECT and UPDATE on workers, INSERT on system_logs
    psql(url, { sql: `CREATE ROLE ${role}; GRANT SELECT, UPDATE ON workers TO ${role}; GRANT INSERT ON system_logs TO ${role}; GRANT USAGE ON SEQUENCE system_logs_id_seq TO ${role}` });
    const asRole = (sql: string) => psql(url, { sql: `SET ROLE ${role}; ${sql}` }).trim();
    try {
      const line = (message: string) => `'[{"timestamp": "${at(0)}", "level": "INFO", "message": "${message}"}]'::jsonb`;
      expect(asRole(`SELECT func_worker_heartbeat_with_logs('orch-old', 80000, 100, ${line('known worker')}, NULL)`)).toContain('"success": true');
      // a worker new to the table: no row (the table needs an instance_type), its lines kept
      expect(asRole(`SELECT func_worker_heartbeat_with_logs('new-one', 1, 1, ${line('new worker')}, NULL)`)).toContain('"logs_inserted": 1');
      asRole("INSERT INTO system_logs (level, message, source_type, source_id) VALUES ('INFO', 'written by hand', 'worker', 'hand-w')");
    } finally {
      psql(url, { sql: `DROP OWNED BY ${role}; DROP ROLE ${role}` });
    }
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url });
    hubs.push(hub);
    const beat = (id: string) =>
      fetch(`${hub.url}/api/workers/${id}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logs: [{ timestamp: Date.now() / 1000, level: 'INFO', message: `http ${id}` }] }) });
    expect((await beat('orch-old')).status).toBe(200);
    const refused = await beat('http-new');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toContain('instance_type');
    const { body } = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?limit=100`);
    expect(body.logs.map((l) => l.message).sort()).toEqual(['http orch-old', 'known worker', 'new worker', 'written by hand']);
    expect((await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_type=orchestrator`)).body.logs).toEqual([]);
    // a worker with lines and no row is still read by the CLI (it said "worker new-one not found")
    for (const [id, line] of [['new-one', 'new worker'], ['hand-w', 'written by hand']]) expect((await cli(['logs', `worker:${id}`, '--hub', hub.url])).stdout).toBe(`${line}\n`);
    expect((await cli(['logs', 'worker:nobody', '--hub', hub.url])).stderr).toContain('worker nobody not found');
    // the seed's function takes any text for an id: such a worker is read like any other
    psql(url, { sql: "INSERT INTO workers (id, instance_type) VALUES ('vast ai/worker #3', 'h100')" });
    psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('vast ai/worker #3', 1, 1, '[{"timestamp": "${at(0)}", "level": "INFO", "message": "odd id"}]'::jsonb, NULL)` });
    const odd = encodeURIComponent('vast ai/worker #3');
    expect((await getJson<Worker>(`${hub.url}/api/workers/${odd}`)).status).toBe(200);
    expect((await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=${odd}`)).body.logs.map((l) => l.message)).toEqual(['odd id']);
  });

  it("refuses in func_worker_heartbeat_with_logs a worker id the API could not read (empty, past 256 characters, a control character), storing nothing", async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    const line = `'[{"timestamp": "${at(0)}", "level": "INFO", "message": "hello"}]'::jsonb`;
    const beat = (id: string) => `SELECT func_worker_heartbeat_with_logs(${id}, 1, 1, ${line}, NULL)`;
    for (const [id, said] of [
      ["''", 'worker_id_param is empty'],
      ['NULL', 'worker_id_param is empty'],
      [`'${'w'.repeat(257)}'`, 'worker_id_param is 257 characters long'],
      [`repeat('x', 5000)`, 'worker_id_param is 5000 characters long'],
      ["'tab' || chr(9) || 'bed'", 'worker_id_param holds a control character'],
      ["'del' || chr(127)", 'worker_id_param holds a control character'],
    ] as const) {
      const result = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-c', beat(id), url], { encoding: 'utf8' });
      expect(result.status, id).not.toBe(0);
      expect(result.stderr, id).toContain(said);
      expect(result.stderr, id).toContain('1 to 256 characters, no control characters');
    }
    expect(psql(url, { sql: 'SELECT count(*) FROM system_logs' }).trim()).toBe('0');
    expect(psql(url, { sql: 'SELECT count(*) FROM workers' }).trim()).toBe('0');
    // at the limit, counted as PostgreSQL counts characters (an emoji is one): taken, and read through the API
    const longest = 'w'.repeat(256);
    const emoji = '\u{1F680}'.repeat(256);
    for (const id of [longest, emoji]) expect(psql(url, { sql: beat(`'${id}'`) }).trim()).toBe('{"success": true, "logs_inserted": 1}');
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url });
    hubs.push(hub);
    for (const id of [longest, emoji]) {
      expect((await getJson<Worker>(`${hub.url}/api/workers/${encodeURIComponent(id)}`)).body.id).toBe(id);
      expect((await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=${encodeURIComponent(id)}`)).body.logs.map((l) => l.message)).toEqual(['hello']);
    }
    expect((await fetch(`${hub.url}/api/workers/${'w'.repeat(257)}`)).status).toBe(400);
  });

  it('reads with --db only where runlog made its schema: an empty database is said, not given a schema by a read; cleanup refuses 0s', async () => {
    const { url } = await freshDatabase();
    for (const command of [['workers'], ['runs']]) {
      const read = await cli([...command, '--db', url]);
      expect(read.code).not.toBe(0);
      expect(read.stderr).toContain('has no runlog schema');
    }
    expect(psql(url, { sql: "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" }).trim()).toBe('0');
    const zero = await cli(['cleanup', '--db', url, '--older-than', '0s']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--older-than: expected a duration above 0');
  });

  it("reads rows the seed's function stored with an infinite timestamp, clamped to the edge of time (the cast to bigint failed: a 500)", async () => {
    const { url } = await freshDatabase();
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url }, { audit: () => {} });
    hubs.push(hub);
    psql(url, { sql: "INSERT INTO workers (id) VALUES ('forever')" });
    const now = new Date().toISOString();
    const logs = JSON.stringify([
      { timestamp: 'infinity', level: 'INFO', message: 'at the end of time', task_id: null, metadata: {} },
      { timestamp: now, level: 'INFO', message: 'an ordinary line', task_id: null, metadata: {} },
    ]);
    psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('forever', 24000, 20000, '${logs}'::jsonb, NULL)` });
    psql(url, { sql: "UPDATE workers SET last_heartbeat = 'infinity', first_seen = '-infinity' WHERE id = 'forever'" });
    const listed = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=forever`);
    expect(listed.status).toBe(200);
    // newest first: infinity is the latest there is (a -infinity line is past any retention: deleted)
    expect(listed.body.logs.map((l) => [l.message, l.timestamp])).toEqual([
      ['at the end of time', '2255-06-05T23:47:34.740991Z'],
      ['an ordinary line', now.replace('Z', '000Z')],
    ]);
    for (const path of ['/api/logs', '/api/search?q=time', '/api/workers', '/api/workers/forever']) expect([path, (await fetch(`${hub.url}${path}`)).status]).toEqual([path, 200]);
    expect((await getJson<Worker>(`${hub.url}/api/workers/forever`)).body).toMatchObject({ last_heartbeat: '2255-06-05T23:47:34.740991Z', first_seen: '1684-07-28T00:12:25.259009Z' });
  });

  it('shows a seed-style Python worker live through the hub: SSE /api/logs/stream, GET /api/workers, runlog workers', async () => {
    const probe = spawnSync(PYTHON, ['-c', 'import psycopg2'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`${PYTHON} cannot import psycopg2 (apt-get install python3-psycopg2)`);
      console.warn(`${PYTHON} cannot import psycopg2: skipping the Python worker test`);
      return;
    }
    const { url } = await freshDatabase();
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url, ssePingMs: 1000 });
    hubs.push(hub);
    const seen: SystemLog[] = [];
    const source = new EventSource(`${hub.url}/api/logs/stream?source_id=py-worker-1`);
    source.addEventListener('log', (event) => seen.push(JSON.parse(event.data) as SystemLog));
    // the web UI's feeds: the Workers page follows /api/events, the Logs page /api/logs/stream
    const workerEvents: Worker[] = [];
    const events = new EventSource(`${hub.url}/api/events`);
    events.addEventListener('worker', (event) => workerEvents.push(JSON.parse(event.data) as Worker));
    let allLines = 0;
    const all = new EventSource(`${hub.url}/api/logs/stream`);
    all.addEventListener('log', () => allLines++);
    await waitFor(() => [source, events, all].every((s) => s.readyState === EventSource.OPEN) || undefined, 10_000, 'the streams open');

    const worker = spawn(PYTHON, [join(SEED, 'seed_worker.py'), url, 'py-worker-1', '250', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // live: lines arrive while the worker still runs
    await waitFor(() => seen.length > 0 || undefined, 20_000, 'the first lines live');
    const listed = await getJson<{ workers: Worker[] }>(`${hub.url}/api/workers`);
    expect(listed.body.workers.find((w) => w.id === 'py-worker-1')).toMatchObject({ status: 'active', vram_total_mb: 24000 });
    const code = await new Promise<number | null>((resolve) => worker.on('close', resolve));
    expect(code, output).toBe(0);
    await waitFor(() => seen.length >= 250 || undefined, 20_000, 'every line live');
    await waitFor(() => allLines >= 250 || undefined, 20_000, 'every line on the all-workers stream');
    source.close();
    all.close();
    events.close();
    expect(workerEvents.some((w) => w.id === 'py-worker-1' && w.status === 'active')).toBe(true);
    expect(seen.map((l) => l.message)).toEqual(Array.from({ length: 250 }, (_, i) => (i + 1) % 50 === 0 ? `step ${i + 1}: low VRAM` : `step ${i + 1} of 250`));
    expect(seen[49]).toMatchObject({ level: 'WARNING', task_id: 'task-1', source_type: 'worker', source_id: 'py-worker-1', metadata: { module: 'seed_worker' } });
    const api = await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=py-worker-1&level=WARNING`);
    expect(api.body.logs).toHaveLength(5);
    const workers = await cli(['workers', '--db', url]);
    expect(workers.code).toBe(0);
    expect(workers.stdout).toMatch(/py-worker-1\s+active/);
  });

  it("gives a worker that calls the function itself its last line's seq as last_seq: -f --tail 0 prints only new lines (it printed the whole history)", async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    const call = (message: string) =>
      psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('fn-w', NULL, NULL, '${JSON.stringify([{ timestamp: new Date().toISOString(), level: 'INFO', message }])}'::jsonb, NULL)` });
    call('old one');
    call('old two');
    const newest = Number(psql(url, { sql: "SELECT max(seq) FROM system_logs WHERE source_id = 'fn-w'" }).trim());
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url, ssePingMs: 1000 });
    hubs.push(hub);
    expect((await getJson<Worker>(`${hub.url}/api/workers/fn-w`)).body.last_seq).toBe(newest);
    for (const from of [['--hub', hub.url], ['--db', url]]) {
      const following = cli(['logs', 'worker:fn-w', '-f', '--tail', '0', ...from]);
      let out = '';
      following.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      try {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        call(`new via ${from[0]}`);
        await waitFor(() => out.includes(`new via ${from[0]}`), 20_000, `the new line (${from[0]})`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(out.trim().split('\n')).toEqual([`new via ${from[0]}`]);
      } finally {
        following.child.kill('SIGTERM');
        await following;
      }
    }
  });

  it("runlog logs worker:<id> reads a worker id the function took that runlog would not give out (it said \"ids match […]\")", async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    const id = 'vast ai/worker #3';
    psql(url, { sql: `SELECT func_worker_heartbeat_with_logs('${id}', NULL, NULL, '${JSON.stringify([{ timestamp: at(0), level: 'INFO', message: 'odd id line' }])}'::jsonb, NULL)` });
    const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), db: url, ssePingMs: 1000 });
    hubs.push(hub);
    for (const from of [['--hub', hub.url], ['--db', url]]) {
      const result = await cli(['logs', `worker:${id}`, ...from]);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe('odd id line');
    }
    const bad = await cli(['logs', 'worker:tab\there', '--db', url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no control characters');
  });

  it("lets a role with the seed's cleanup rights (DELETE on system_logs) run cleanup_old_system_logs(): the seq keeper runs as its owner", async () => {
    const { url } = await freshDatabase();
    await (await PostgresStore.open(url)).close();
    const role = `seedc_${Math.random().toString(36).slice(2, 10)}`; // roles are the cluster's: unique
    psql(url, { sql: `INSERT INTO system_logs (timestamp, level, message, source_type, source_id) VALUES (NOW() - INTERVAL '49 hours', 'INFO', 'old', 'worker', 'cron-w'), (NOW(), 'INFO', 'new', 'worker', 'cron-w')` });
    psql(url, { sql: `CREATE ROLE ${role}; GRANT SELECT, DELETE ON system_logs TO ${role}; GRANT EXECUTE ON FUNCTION cleanup_old_system_logs() TO ${role}` });
    try {
      // it failed: permission denied for table system_log_seqs (the trigger ran as the caller)
      psql(url, { sql: `SET ROLE ${role}; SELECT cleanup_old_system_logs()` });
    } finally {
      psql(url, { sql: `DROP OWNED BY ${role}; DROP ROLE ${role}` });
    }
    expect(psql(url, { sql: 'SELECT message FROM system_logs' }).trim()).toBe('new');
    // the deleted line's seq is kept: the worker numbers on after it
    expect(Number(psql(url, { sql: "SELECT last_seq FROM system_log_seqs WHERE source_id = 'cron-w'" }).trim())).toBeGreaterThan(0);
  });
});
