/**
 * Every bound of src/core/limits.ts, at the hub (issue 8, "Bounds, and never a 500 for bad input"):
 * a value exactly at its limit is accepted, one past it is a 400 that names the field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { resolveHubConfig } from '../core/config.js';
import { LIMITS } from '../core/limits.js';
import { LiveFanout } from '../pipeline/live.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { buildApp } from './app.js';

type Payload = Record<string, unknown>;

interface Bound {
  what: string;
  url: string;
  /** a body whose bounded field has size `n` (bytes, items, levels, seconds …) */
  body: (n: number) => Payload;
  limit: number;
  field: string;
  /** the first refused size, when it is not limit + 1 */
  over?: number;
}

const x = (n: number) => 'x'.repeat(n);
/** an object whose JSON is exactly n bytes: {"a":"xx…"} */
const jsonOfBytes = (n: number) => ({ a: x(n - 8) });
/** n levels of objects */
const nested = (n: number): Payload => {
  let value: Payload = {};
  for (let level = 1; level < n; level++) value = { a: value };
  return value;
};
const line = (extra: Payload) => ({ records: [{ seq: 1, timestamp: 1_700_000_000_000_000, level: 'INFO', message: 'm', ...extra }] });
const labels = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
const env = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`V${i}`, '1']));

const BOUNDS: Bound[] = [
  { what: 'attrs depth', url: '/api/runs/r1/logs', body: (n) => line({ attrs: nested(n) }), limit: LIMITS.jsonDepth, field: 'records[0].attrs' },
  { what: 'attrs size', url: '/api/runs/r1/logs', body: (n) => line({ attrs: jsonOfBytes(n) }), limit: LIMITS.jsonBytes, field: 'records[0].attrs' },
  { what: 'logger', url: '/api/runs/r1/logs', body: (n) => line({ logger: x(n) }), limit: LIMITS.loggerBytes, field: 'records[0].logger' },
  { what: 'task_id of a line', url: '/api/runs/r1/logs', body: (n) => line({ task_id: x(n) }), limit: LIMITS.idChars, field: 'records[0].task_id' },
  { what: 'heartbeat logs attrs depth', url: '/api/workers/w1/heartbeat', body: (n) => ({ logs: line({ attrs: nested(n) }).records }), limit: LIMITS.jsonDepth, field: 'logs[0].attrs' },
  { what: 'run name (bytes)', url: '/api/runs', body: (n) => ({ name: 'é'.repeat(n / 2) }), limit: LIMITS.nameBytes, field: 'name', over: LIMITS.nameBytes + 2 },
  { what: 'run command', url: '/api/runs', body: (n) => ({ command: x(n) }), limit: LIMITS.commandBytes, field: 'command' },
  { what: 'run log_path', url: '/api/runs', body: (n) => ({ log_path: x(n) }), limit: LIMITS.logPathBytes, field: 'log_path' },
  { what: 'run labels count', url: '/api/runs', body: (n) => ({ labels: labels(n) }), limit: LIMITS.labels, field: 'labels' },
  { what: 'run label value', url: '/api/runs', body: (n) => ({ labels: { team: x(n) } }), limit: LIMITS.labelValueBytes, field: 'labels.team' },
  { what: 'run label key', url: '/api/runs', body: (n) => ({ labels: { [x(n)]: 'v' } }), limit: LIMITS.labelKeyBytes, field: `labels.${x(64)}…` },
  { what: 'task labels count', url: '/api/tasks', body: (n) => ({ command: ['true'], labels: labels(n) }), limit: LIMITS.labels, field: 'labels' },
  { what: 'task label value', url: '/api/tasks', body: (n) => ({ command: ['true'], labels: { team: x(n) } }), limit: LIMITS.labelValueBytes, field: 'labels.team' },
  { what: 'task command, joined', url: '/api/tasks', body: (n) => ({ command: ['a', x(n - 2)] }), limit: LIMITS.commandBytes, field: 'command' },
  { what: 'task command argument', url: '/api/tasks', body: (n) => ({ command: [x(n)] }), limit: LIMITS.commandBytes, field: 'command[0]' },
  { what: 'task command arguments', url: '/api/tasks', body: (n) => ({ command: Array.from({ length: n }, () => 'a') }), limit: LIMITS.commandArgs, field: 'command' },
  { what: 'task setup steps', url: '/api/tasks', body: (n) => ({ command: ['true'], setup: Array.from({ length: n }, () => 'true') }), limit: LIMITS.setupSteps, field: 'setup' },
  { what: 'task setup step', url: '/api/tasks', body: (n) => ({ command: ['true'], setup: [x(n)] }), limit: LIMITS.setupStepBytes, field: 'setup[0]' },
  { what: 'task env count', url: '/api/tasks', body: (n) => ({ command: ['true'], env: env(n) }), limit: LIMITS.envVars, field: 'env' },
  { what: 'task env size', url: '/api/tasks', body: (n) => ({ command: ['true'], env: { A: x(n - 1) } }), limit: LIMITS.envBytes, field: 'env' },
  { what: 'task env name', url: '/api/tasks', body: (n) => ({ command: ['true'], env: { [x(n)]: '1' } }), limit: LIMITS.envNameBytes, field: `env.${x(LIMITS.envNameBytes)}` },
  { what: 'task cwd', url: '/api/tasks', body: (n) => ({ command: ['true'], cwd: x(n) }), limit: LIMITS.cwdBytes, field: 'cwd' },
  { what: 'heartbeat stats size', url: '/api/workers/w1/heartbeat', body: (n) => ({ stats: jsonOfBytes(n) }), limit: LIMITS.jsonBytes, field: 'stats' },
  { what: 'heartbeat stats depth', url: '/api/workers/w1/heartbeat', body: (n) => ({ stats: nested(n) }), limit: LIMITS.jsonDepth, field: 'stats' },
  { what: 'heartbeat gpus count', url: '/api/workers/w1/heartbeat', body: (n) => ({ gpus: Array.from({ length: n }, (_, index) => ({ index })) }), limit: LIMITS.gpus, field: 'gpus' },
  { what: 'heartbeat gpus entry', url: '/api/workers/w1/heartbeat', body: (n) => ({ gpus: [jsonOfBytes(n)] }), limit: LIMITS.gpuBytes, field: 'gpus[0]' },
  { what: 'heartbeat vram', url: '/api/workers/w1/heartbeat', body: (n) => ({ vram_total_mb: n }), limit: LIMITS.vramMb, field: 'vram_total_mb' },
  { what: 'heartbeat interval', url: '/api/workers/w1/heartbeat', body: (n) => ({ heartbeat_interval_s: n }), limit: LIMITS.heartbeatIntervalS.max, field: 'heartbeat_interval_s' },
  { what: 'claim heartbeat interval', url: '/api/tasks/claim', body: (n) => ({ worker_id: 'w2', heartbeat_interval_s: n }), limit: LIMITS.heartbeatIntervalS.max, field: 'heartbeat_interval_s' },
];

describe('bounds on what the hub is sent', () => {
  let app: FastifyInstance;
  let store: SqliteStore;
  const dataDir = mkdtempSync(join(tmpdir(), 'runlog-bounds-')); // the hub's secret key goes there

  beforeAll(async () => {
    store = new SqliteStore(':memory:');
    app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir }) });
    await app.inject({ method: 'POST', url: '/api/runs', payload: { id: 'r1' } });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

  it.each(BOUNDS)('$what: the limit is accepted, one past it is a 400 naming $field', async ({ url, body, limit, field, over }) => {
    const atLimit = await post(url, body(limit));
    expect(atLimit.statusCode, atLimit.body).toBeLessThan(300);
    const past = await post(url, body(over ?? limit + 1));
    expect(past.statusCode).toBe(400);
    expect(past.json().field).toBe(field);
    expect(past.json().message).toContain(field);
  });

  it.each([
    ['heartbeat_interval_s 0', '/api/workers/w1/heartbeat', { heartbeat_interval_s: 0 }, 'heartbeat_interval_s'],
    ['heartbeat_interval_s 0.5 on a claim', '/api/tasks/claim', { worker_id: 'w2', heartbeat_interval_s: 0.5 }, 'heartbeat_interval_s'],
    ['stats that are not an object', '/api/workers/w1/heartbeat', { stats: 'busy' }, 'stats'],
    ['a gpus entry that is not an object', '/api/workers/w1/heartbeat', { gpus: [[1]] }, 'gpus[0]'],
    ['a 20 MB task command', '/api/tasks', { command: ['echo', x(20 * 1024 * 1024)] }, 'command[1]'],
    ['an exit code past 32 bits', '/api/runs/r1/finish', { status: 'failed', exit_code: 2 ** 40 }, 'exit_code'],
    ['dropped_logs that is not a whole number (500 on PostgreSQL)', '/api/workers/w1/heartbeat', { dropped_logs: 2.5 }, 'dropped_logs'],
    ['a token expiring past 100 years, which once answered 500', '/api/tokens', { name: 'forever', scopes: ['read'], expires: '99999999999999999999d' }, 'expires'],
  ])('refuses %s with a 400 naming the field', async (_what, url, payload, field) => {
    const response = await post(url, payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe(field);
  });

  it('refuses attrs nested 5,000 deep with a 400 naming them, where it used to answer 500 (issue 8)', async () => {
    const attrs = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const payload = `{"records":[{"seq":1,"timestamp":1,"level":"INFO","message":"m","attrs":${attrs}}]}`;
    const response = await app.inject({ method: 'POST', url: '/api/runs/r1/logs', payload, headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe('records[0].attrs');
  });

  it('takes diagnostics 16 levels deep and refuses 17', async () => {
    await post('/api/runs', { id: 'diag-1' });
    await post('/api/runs', { id: 'diag-2' });
    const past = await post('/api/runs/diag-1/finish', { status: 'failed', diagnostics: nested(LIMITS.diagnosticsDepth + 1) });
    expect(past.statusCode).toBe(400);
    expect(past.json().field).toBe('diagnostics');
    expect((await post('/api/runs/diag-2/finish', { status: 'failed', diagnostics: nested(LIMITS.diagnosticsDepth) })).statusCode).toBe(200);
  });

  it('takes heartbeat_interval_s of 1 s, the lower bound', async () => {
    expect((await post('/api/workers/w1/heartbeat', { heartbeat_interval_s: 1 })).statusCode).toBe(200);
    expect((await post('/api/tasks/claim', { worker_id: 'w2', heartbeat_interval_s: 1 })).statusCode).toBeLessThan(300);
  });

  it.each([
    ['9999-12-31T23:59:59.999999Z', true],
    ['1970-01-01T00:00:00Z', true],
    ['2024-02-29', true],
    [Number.MAX_SAFE_INTEGER, true],
    ['2026-02-30', false],
    ['2026-02-30T00:00:00Z', false],
    ['2023-02-29', false],
    ['2026-04-31T12:00:00Z', false],
    ['2026-01-01T24:00:00Z', false],
    ['2026-01-01T12:60:00Z', false],
    ['2026-01-01T12:00:60Z', false],
    ['10000-01-01T00:00:00Z', false],
    ['9999-12-31T23:00:00-01:00', false],
    ['1969-12-31T23:59:59Z', false],
    ['1970-01-01T00:30:00+01:00', false],
    [-1, false],
    [1.5, true], // epoch seconds (Python's time.time())
    [1e300, false],
  ])('a line timestamped %s is accepted: %s', async (timestamp, accepted) => {
    const response = await post('/api/runs/r1/logs', line({ timestamp }));
    expect(response.statusCode, response.body).toBe(accepted ? 200 : 400);
    if (!accepted) expect(response.json().field).toBe('records[0].timestamp');
  });

  it('reads back the last timestamp it accepts as a 9999 date', async () => {
    await post('/api/runs', { id: 'r-late' });
    await post('/api/runs/r-late/logs', { records: [{ seq: 1, timestamp: '9999-12-31T23:59:59.999999Z', level: 'INFO', message: 'm' }] });
    const [record] = (await app.inject('/api/runs/r-late/logs')).json().logs;
    expect(record.timestamp).toMatch(/^9999-12-31T23:59:59\.9999\d\dZ$/);
  });

  it('answers a 20 MB task command with a 400, so no runs list ever carries it', async () => {
    await post('/api/tasks', { command: ['echo', x(20 * 1024 * 1024)] });
    const { runs } = (await app.inject('/api/runs')).json() as { runs: { command: string | null }[] };
    expect(Math.max(...runs.map((run) => (run.command ?? '').length))).toBeLessThanOrEqual(LIMITS.commandBytes);
  });
});
