/**
 * The hub under random input (issue 8, "never a 500 for bad input"): every route the app has,
 * taken from its own route list (`routeList`), gets random methods, path ids, query strings,
 * headers, content types and bodies (random JSON of any depth, near-valid bodies with wrong
 * types, huge strings, bytes that are not UTF-8). No answer may be a 5xx, and the hub answers /healthz afterwards.
 *
 * Seeded and bounded: a fixed number of requests under a time budget, on a real SQLite file.
 * Event streams are opened like any route (their checks run), and dropped once their headers come.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../src/core/config.js';
import { LiveFanout } from '../src/pipeline/live.js';
import { buildApp } from '../src/server/app.js';
import { routeList } from '../src/server/auth/guard.js';
import { newTokenSecret, sha256 } from '../src/server/auth/tokens.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import type { Store } from '../src/store/store.js';
import { describeWithPostgres, freshPostgresStore } from './postgres.js';
import { tempDir } from './helpers.js';

/** fixed, so a failure replays; set RUNLOG_FUZZ_SEED to explore further */
const SEED = Number(process.env.RUNLOG_FUZZ_SEED ?? 8);
const RUNS = 1000;
const BUDGET_MS = 40_000;
const RUNS_PG = 300;
const BUDGET_PG_MS = 15_000;
/** an answer that takes longer (a long poll, a stream that sends no headers) is dropped, not failed */
const ANSWER_MS = 1500;

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

// ---- values -------------------------------------------------------------------------------

const KNOWN_IDS = ['run-live', 'run-ended', 'task-queued', 'w1'];
const FIELDS = [
  'id', 'name', 'command', 'status', 'started_at', 'completed_at', 'log_path', 'worker_id', 'task_id', 'labels', 'records',
  'logs', 'progress', 'seq', 'timestamp', 'level', 'message', 'source', 'phase', 'logger', 'attrs', 'metadata', 'exit_code',
  'signal', 'error_message', 'diagnostics', 'env', 'setup', 'cwd', 'stats', 'gpus', 'heartbeat_interval_s', 'vram_total_mb',
  'vram_used_mb', 'dropped_logs', 'current_task_id', 'older_than', 'runs_older_than', 'lease_s', 'token', 'scopes', 'expires',
];
const QUERY_KEYS = ['limit', 'tail', 'after', 'before', 'since', 'until', 'level', 'q', 'status', 'wait', 'batch', 'source_id', 'source_type', 'task_id', 'label'];

const idValue = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KNOWN_IDS) },
  fc.constantFrom( 'ghost', 'worker:w1', '.hidden', '-rf', '', 'x'.repeat(128), 'x'.repeat(129), '%ff%fe', '%c0%af', '%00'),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/),
  fc.string({ maxLength: 40 }),
);
const number = fc.oneof(
  fc.constantFrom(-1, 0, 1, 1.5, 2 ** 31, 2 ** 53, 2 ** 64, 1e300, -1e300, Number.MAX_SAFE_INTEGER),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const text = fc.oneof(
  { depthSize: 'small' },
  fc.constantFrom('', 'INFO', 'warn', 'LOUD', 'completed', 'failed', 'running', 'queued', 'idle', 'busy', 'offline', 'stdout', 'setup', 'run'),
  fc.constantFrom('2026-02-30', '2026-01-02T03:04:05Z', '10000-01-01T00:00:00Z', '1969-12-31', '0000-00-00', '1ms', '48h', '0s', '99999999999999999999d', '1e999d'),
  fc.constantFrom('\u0000', '\ud800', '\x1b]52;c;aGk=\x07', '../../etc/passwd', '%00', '__proto__', 'constructor'),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => 'x'.repeat(n)) },
);
/** any JSON value, near-valid objects (known field names with wrong values) included */
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    text,
    idValue,
    fc.array(tie('value'), { maxLength: 5 }),
    tie('object'),
  ),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), tie('value'), { maxKeys: 8 }),
}));

/** stands for a value nested thousands deep, put in as text once the body is serialized */
const DEEP = '@@deep@@';
const iso = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 ** 53 - 1 }) },
  fc.date({ noInvalidDate: true, min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z') }).map((date) => date.toISOString()),
  fc.constantFrom('2026-02-30', '9999-12-31T23:59:59.999999Z', '10000-01-01', '1970-01-01', '2026-01-01 00:00:00+05:30'),
);
const stringMap = fc.dictionary(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), { maxKeys: 70 });
/** a plausible value for each field the API knows, so random bodies get past the first check */
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  id: idValue,
  worker_id: idValue,
  task_id: idValue,
  current_task_id: idValue,
  name: text,
  command: fc.oneof(text, { weight: 4, arbitrary: fc.array(text, { minLength: 1, maxLength: 5 }) }),
  setup: fc.array(text, { maxLength: 5 }),
  status: fc.constantFrom('queued', 'running', 'completed', 'failed', 'cancelled', 'idle', 'busy', 'offline', 'draining'),
  started_at: iso,
  completed_at: iso,
  timestamp: iso,
  labels: stringMap,
  env: fc.oneof(stringMap, fc.dictionary(fc.stringMatching(/^[A-Z_]{1,8}$/), text, { maxKeys: 5 })),
  seq: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) }, number),
  level: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('DEBUG', 'INFO', 'warn', 'ERROR', 'fatal') }, fc.constantFrom(10, 20, 50, 0), text),
  message: fc.oneof({ weight: 8, arbitrary: fc.string() }, text),
  logger: fc.oneof({ weight: 8, arbitrary: fc.stringMatching(/^[a-z]{1,8}(\.[a-z]{1,8}){0,3}$/) }, text),
  source: fc.constantFrom('stdout', 'stderr', 'system', 'file', 'sdk', 'stdout', 'stderr', 'pipe'),
  phase: fc.constantFrom('setup', 'run', 'diagnostics', 'setup', 'run', 'other'),
  exit_code: number,
  heartbeat_interval_s: number,
  dropped_logs: number,
  vram_total_mb: number,
  vram_used_mb: number,
  lease_s: number,
  attrs: fc.oneof(jsonValue, fc.constant(DEEP)),
  metadata: fc.oneof(jsonValue, fc.constant(DEEP)),
  stats: fc.oneof(jsonValue, fc.constant(DEEP)),
  diagnostics: fc.oneof(jsonValue, fc.constant(DEEP)),
  gpus: fc.oneof(fc.array(jsonValue, { maxLength: 3 }), fc.constant([DEEP])),
  older_than: text,
  runs_older_than: text,
  expires: text,
  scopes: fc.oneof(fc.subarray(['read', 'write', 'worker', 'submit', 'admin']), fc.constantFrom('read,write', 'admin', 'root'), text),
  token: fc.oneof(fc.constant('rl_'), text),
};
/** mostly a plausible value, sometimes anything at all */
const fieldValue = (field: string) => fc.oneof({ weight: 20, arbitrary: plausible[field] ?? jsonValue }, { weight: 1, arbitrary: jsonValue });
/** an object with some of `names` (those in `required` always) */
const fields = (names: readonly string[], required: readonly string[] = []) =>
  fc.subarray(names.filter((name) => !required.includes(name)), { maxLength: 6 }).chain((picked) => fc.record(Object.fromEntries([...required, ...picked].map((name) => [name, fieldValue(name)]))));
const record = fields(['seq', 'timestamp', 'level', 'message', 'source', 'phase', 'logger', 'task_id', 'attrs', 'metadata'], ['seq', 'timestamp', 'level', 'message']);
/** the fields a route cannot do without, so that most bodies reach the checks past the first one */
const REQUIRED: Record<string, string[]> = {
  '/api/runs/:id/logs': ['records'],
  '/api/runs/:id/finish': ['status'],
  '/api/tasks': ['command'],
  '/api/tasks/claim': ['worker_id'],
  '/api/workers/:id/heartbeat': ['logs'],
  '/api/tokens': ['name', 'scopes'],
  '/api/session': ['token'],
};
const nearValid = (url: string) =>
  fc
    .tuple(
      fields(FIELDS.filter((field) => !['records', 'logs', 'progress'].includes(field)), (REQUIRED[url] ?? []).filter((field) => field !== 'records' && field !== 'logs')),
      fc.array(record, { maxLength: 3 }),
      fc.constantFrom('records', 'logs', 'progress', 'none'),
    )
    .map(([object, records, where]) => {
      const listed = REQUIRED[url]?.find((field) => field === 'records' || field === 'logs') ?? where;
      return listed === 'none' ? object : { ...object, [listed]: records };
    });

/** JSON text nested `depth` deep, built as text: no recursion on either side */
const deepText = fc
  .record({ depth: fc.oneof(fc.constantFrom(9, 5000, 50_000), fc.integer({ min: 1, max: 50_000 })), open: fc.constantFrom('[', '{"a":') })
  .map(({ depth, open }) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);

const body = (url: string) => fc.oneof(
  { weight: 8, arbitrary: fc.tuple(nearValid(url), deepText).map(([value, deep]) => JSON.stringify(value).replaceAll(`"${DEEP}"`, deep)) },
  { weight: 2, arbitrary: jsonValue.map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...FIELDS), deepText).map(([field, deep]) => `{"${field}":${deep}}`) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  // JSON carrying bytes that are not UTF-8 inside a string
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 50 }).map((bytes) => Buffer.concat([Buffer.from('{"message":"'), Buffer.from(bytes.map((b) => b | 0x80)), Buffer.from('"}')])) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);
const contentType = fc.oneof({ weight: 6, arbitrary: fc.constant('application/json') }, fc.constantFrom(
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'garbage',
));
const queryValue = fc.oneof(
  text,
  number.map(String),
  fc.constantFrom('-1', '0', '1', '10000', '10001', '99999999999999999999', 'true', 'yes', '%ff%fe', '%e2%82', 'team=vision', '=x', 'k='),
);
const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })), queryValue), { maxLength: 4 }).map((pairs) =>
  pairs
    // a long poll waits for its run to end: at most 1 s here, so the budget goes to other requests
    .map(([key, value]) => [key, key === 'wait' && /^\d+$/.test(value) && Number(value) > 1 && Number(value) <= 3600 ? '1' : value])
    .map(([key, value]) => `${percent(key ?? '')}=${percent(value ?? '')}`)
    .join('&'),
);
const printable = fc.string({ maxLength: 40 }).map((value) => value.replace(/[^\x20-\x7e]/g, ''));
/** each header now and then: a wrong Origin or writer key stops a request at 403 before the checks worth fuzzing */
const sometimes = <T>(value: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
const headers = fc
  .record({
    'last-event-id': sometimes(fc.oneof(printable, fc.constantFrom('0', '5', '-1', '99999999999999999999'))),
    accept: sometimes(fc.constantFrom('*/*', 'text/event-stream', 'application/json', 'text/html')),
    origin: sometimes(fc.constantFrom('http://localhost:80', 'http://evil.example', 'null')),
    'x-runlog-writer': sometimes(printable),
    cookie: sometimes(fc.oneof(fc.constantFrom('runlog_session=abc', 'runlog_session=', '=;;', 'runlog_session=%ff'), printable)),
    'sec-fetch-site': sometimes(fc.constantFrom('same-origin', 'cross-site')),
  })
  .map((picked) => Object.fromEntries(Object.entries(picked).filter(([, value]) => value !== undefined)) as Record<string, string>);
/** the admin token mostly (a stranger's request stops at 401 before the checks worth fuzzing), else none or a wrong one */
const authorization = fc.oneof({ weight: 8, arbitrary: fc.constant('admin') }, fc.constantFrom(undefined, 'Bearer rl_wrong', 'Basic eDp5', 'Bearer '));

// ---- requests -----------------------------------------------------------------------------

/** percent-encoded UTF-8, lone surrogates included (as U+FFFD); `%ff`-style raw bytes pass as they are */
function percent(value: string): string {
  if (/^(%[0-9a-fA-F]{2})+$/.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value.slice(0, 1000))) out += /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`;
  return out;
}

function pathFor(route: string, ids: string[]): string {
  let next = 0;
  return route.replace(/:[A-Za-z_]+|\*/g, () => percent(ids[next++] ?? 'x'));
}

function requests(routes: { method: string; url: string }[], adminToken: string): fc.Arbitrary<FuzzRequest> {
  // routes that take a body get more of the requests: their checks are where bad input goes deepest
  return fc
    .oneof(...routes.map((route) => ({ weight: route.method !== 'POST' ? 1 : REQUIRED[route.url] ? 5 : 2, arbitrary: fc.constant(route) })))
    .chain((route) => fc.record({
      route: fc.constant(route),
      otherMethod: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS')),
      ids: fc.array(idValue, { minLength: 2, maxLength: 2 }),
      query,
      headers,
      authorization,
      payload: fc.option(body(route.url), { freq: 6 }),
      contentType: fc.option(contentType, { freq: 8 }),
    }))
    .map(({ route, otherMethod, ids, query: search, headers: extra, authorization: auth, payload, contentType: type }) => {
      const method = otherMethod ?? route.method;
      const request: FuzzRequest = { method, url: `${pathFor(route.url, ids)}${search ? `?${search}` : ''}`, headers: { ...extra } };
      if (auth !== undefined) request.headers.authorization = auth === 'admin' ? `Bearer ${adminToken}` : auth;
      if (payload !== null && method !== 'GET' && method !== 'HEAD') {
        request.payload = payload;
        if (type !== null) request.headers['content-type'] = type;
      }
      return request;
    });
}

/** The status of the answer, or undefined when none came within ANSWER_MS; streams are dropped once their headers come. */
async function send(app: FastifyInstance, request: FuzzRequest): Promise<number | undefined> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ANSWER_MS)));
  const answer = app
    .inject({ ...request, method: request.method as 'GET', payloadAsStream: true, signal: abort.signal })
    .then(async (response) => {
      const stream = response.stream();
      if (String(response.headers['content-type']).startsWith('text/event-stream')) stream.destroy();
      else for await (const chunk of stream) void chunk; // read the whole answer: a download fails midway too
      return response.statusCode;
    });
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
    abort.abort();
    answer.catch(() => {}); // an aborted request rejects: that is the point of aborting it
  }
}

/** The same suite on each store: the bounds must hold where a column is an INTEGER too (PostgreSQL). */
function fuzzSuite(name: string, openStore: (dir: string) => Promise<Store>, runs: number, budgetMs: number): void {
  describe(`the hub under random requests (${name})`, () => {
  const dir = tempDir('runlog-fuzz-');
  const routes: { method: string; url: string }[] = [];
  let app: FastifyInstance;
  let store: Store;
  let adminToken: string;

  beforeAll(async () => {
    store = await openStore(dir);
    app = buildApp({ store, live: new LiveFanout(), config: resolveHubConfig({ dataDir: dir, ssePingMs: 60_000 }) });
    // a hub with a token, as a team runs it: tokens the fuzzer creates change nothing then
    adminToken = newTokenSecret();
    await store.createToken({ name: 'fuzz-admin', hash: sha256(adminToken), scopes: ['admin'], worker_id: null, expires_at: null, created_by: null });
    await app.ready();
    // the hub's own list, from its onRoute hook: a route added tomorrow is fuzzed too
    for (const route of routeList(app)) if (route.method !== 'HEAD') routes.push({ method: route.method, url: route.url });
    const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${adminToken}` } });
    await post('/api/runs', { id: 'run-live', status: 'running' });
    await post('/api/runs', { id: 'run-ended' });
    await post('/api/runs/run-ended/logs', { records: [{ seq: 1, timestamp: 1_700_000_000_000_000, level: 'INFO', message: 'done' }] });
    await post('/api/runs/run-ended/finish', { status: 'completed', exit_code: 0 });
    await post('/api/tasks', { id: 'task-queued', command: ['true'] });
    await post('/api/workers/w1/heartbeat', { status: 'idle' });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('collects every route of the app, the API and the UI', () => {
    const urls = routes.map((route) => `${route.method} ${route.url}`);
    expect(urls).toEqual(expect.arrayContaining(['POST /api/runs', 'GET /api/runs/:id/logs/stream', 'POST /api/workers/:id/heartbeat', 'GET /healthz']));
  });

  it('never answers a 5xx, and still answers /healthz afterwards', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(requests(routes, adminToken), async (request) => {
        sent++;
        const status = await send(app, request);
        expect(status === undefined || status < 500, `${request.method} ${request.url} → ${status}`).toBe(true);
      }),
      { seed: SEED, numRuns: runs, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false },
    );
    expect(sent).toBeGreaterThan(100); // the time budget interrupts quietly: make sure it did not starve the test
    const health = await app.inject('/healthz'); // public: no token
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ ok: true });
  }, 90_000);
});
}

fuzzSuite('SQLite', async (dir) => new SqliteStore(join(dir, 'runlog.db')), RUNS, BUDGET_MS);

// fewer requests on PostgreSQL, whose round trips are slower: the suite stays under a minute in all
describeWithPostgres('fuzz on PostgreSQL', () => {
  fuzzSuite(
    'PostgreSQL',
    freshPostgresStore,
    RUNS_PG,
    BUDGET_PG_MS,
  );
});
