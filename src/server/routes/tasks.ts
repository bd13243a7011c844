/**
 * Tasks: runs queued for a worker. Submit, claim (exactly one worker gets each), hand back, and
 * the FunctionResponse a waiting caller gets when the run ends.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { badRequest, conflict, notFound, RunlogError, unavailable } from '../../core/errors.js';
import { productionLine } from '../../sdk/format.js';
import { DEFAULTS } from '../../core/config.js';
import { nowMicros } from '../../core/record.js';
import { FINAL_STATUSES, type Run, type Store, type TaskSpec } from '../../store/store.js';
import type { LiveFanout } from '../../pipeline/live.js';
import { idParam, intParam, type Query } from '../params.js';
import { newRunId, objectBody, parseUpsert } from './runs.js';
import type { RouteContext } from '../context.js';
import { leaseField, publishChange } from './control.js';
import { assertActsFor } from '../auth/guard.js';
import { masked } from '../auth/secrets.js';
import { newKey, sha256 } from '../auth/tokens.js';
import { assertWriter } from '../auth/writer.js';
import { LIMITS } from '../../core/limits.js';
import { fitsBytes, intervalField, optionalText, textField } from '../fields.js';
import { shellJoin } from '../../core/text.js';
import { UnopenableTasks } from './unopenable.js';

const MAX_WAIT_S = 3600;
const RESPONSE_PAGE = 5000;
/** sealed tasks one claim may put back before it answers 503 (the next claim passes over them) */
const CLAIM_TRIES = 5;

export interface FunctionResponse {
  success: boolean;
  exit_code: number | null;
  stdout: string;
  error: string | null;
  run_id: string;
  duration_seconds: number | null;
}

export function taskRoutes(app: FastifyInstance, { store, live, secrets, audit }: RouteContext): void {
  const unopenable = new UnopenableTasks();
  app.post('/api/tasks', { config: { scope: 'submit' } }, async (request, reply) => {
    const body = objectBody(request.body);
    const spec = parseSpec(body);
    const run = parseUpsert({ ...body, id: body.id ?? newRunId(), command: undefined, status: undefined });
    if (await store.getRun(run.id)) throw conflict(`run ${run.id} already exists: use another id`);
    // the environment's values are sealed at rest; only the claiming worker gets them back
    const stored: StoredSpec = { ...spec, env: masked(spec.env), ...(Object.keys(spec.env).length > 0 ? { env_sealed: secrets.seal(spec.env) } : {}) };
    const queued = await store.createTask({ ...run, command: shellJoin(spec.command) }, stored);
    audit('task.submit', { run: queued.id, command: clipForLog(queued.command), by: request.auth.tokenName ?? 'open hub' });
    live.publishRun(queued);
    reply.code(201);
    return queued;
  });

  app.post('/api/tasks/claim', { config: { scope: 'worker' } }, async (request, reply) => {
    const body = objectBody(request.body);
    const workerId = idParam(body.worker_id, 'worker_id');
    assertActsFor(request.auth, workerId);
    const interval = intervalField(body.heartbeat_interval_s);
    // a claim is a sign of life: a worker that dies before its first heartbeat still gets its runs failed
    await store.touchWorker(workerId, interval ?? DEFAULTS.heartbeatSeconds, nowMicros());
    const lease = leaseField(body.lease_s);
    let refusal: RunlogError | undefined;
    for (let tries = 0; tries < CLAIM_TRIES; tries++) {
      // the claim starts the run's lease: from now on the worker renews it
      const claimed = await store.claimTask(workerId, lease, unopenable.ids());
      if (!claimed) break;
      // before anything else of the claim: a task this hub cannot open goes back to the queue, and
      // the hub passes over it to the next one (a hub with the right key gives it out)
      const spec = await openSpec(store, claimed.run.id, claimed.spec as StoredSpec, secrets);
      if (spec instanceof RunlogError) {
        unopenable.add(claimed.run.id);
        refusal = spec;
        continue;
      }
      // this claim's own writer key: a previous attempt of the same task can no longer write it
      const writerKey = newKey();
      await store.setRunWriter(claimed.run.id, { token_name: request.auth.tokenName, key_hash: sha256(writerKey) });
      live.publishRun(claimed.run);
      return { ...claimed, spec, writer_key: writerKey };
    }
    // nothing this hub can give out: say why when it was a task it cannot open
    if (refusal) throw refusal;
    return reply.code(204).send();
  });

  app.post('/api/tasks/:id/release', { config: { scope: 'worker' } }, async (request) => {
    const id = idParam((request.params as { id: string }).id);
    const body = objectBody(request.body);
    if (body.worker_id === undefined) throw badRequest('worker_id', 'name the worker handing the task back');
    const workerId = idParam(body.worker_id, 'worker_id');
    assertActsFor(request.auth, workerId);
    const before = await store.getRun(id);
    if (!before) throw notFound(`task ${id}`);
    if (before.status !== 'running' || before.worker_id !== workerId) throw conflict(`task ${id} is not running on worker ${workerId}`);
    await assertWriter(store, request, before);
    let run = await store.releaseTask(id);
    if (!run) throw notFound(`task ${id}`);
    if (run.status === 'running' && run.cancel_requested_by !== null) {
      // a cancelled task is never handed back: it ends here
      run = (await store.finishRun(id, { status: 'cancelled', error_message: `cancelled by ${run.cancel_requested_by}` })) ?? run;
    }
    publishChange(live, run);
    return run;
  });

  app.get('/api/runs/:id/response', { config: { scope: 'read' } }, async (request, reply) => {
    const id = idParam((request.params as { id: string }).id);
    const wait = intParam(request.query as Query, 'wait', 0, MAX_WAIT_S) ?? 0;
    const run = await waitForEnd(store, live, id, wait * 1000);
    if (!run) throw notFound(`run ${id}`);
    if (!FINAL_STATUSES.includes(run.status)) return reply.code(202).send({ run_id: id, status: run.status });
    reply.type('application/json; charset=utf-8');
    return reply.send(Readable.from(functionResponse(store, run)));
  });
}

/** The run once it has ended, or as it is after `waitMs`. */
async function waitForEnd(store: Store, live: LiveFanout, id: string, waitMs: number): Promise<Run | undefined> {
  let ended: () => void = () => {};
  const endSeen = new Promise<void>((resolve) => (ended = resolve));
  // subscribe before reading, so an end between the two is not missed
  const unsubscribe = live.subscribe(id, (event) => event.type === 'end' && ended());
  try {
    const run = await store.getRun(id);
    if (!run || FINAL_STATUSES.includes(run.status) || waitMs === 0) return run;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([endSeen, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    return store.getRun(id);
  } finally {
    unsubscribe();
  }
}

/**
 * The FunctionResponse, streamed: every line of every phase, in order, in the production format,
 * written into `stdout` page by page as JSON string text, so the hub's memory stays flat however
 * big the run is (a 2M-line run is hundreds of MB of JSON). The fields before and after `stdout`
 * are the same JSON as a whole object would have; the stream's backpressure paces the reads.
 */
async function* functionResponse(store: Store, run: Run): AsyncGenerator<string> {
  const head = JSON.stringify({ success: run.status === 'completed', exit_code: run.exit_code });
  yield `${head.slice(0, -1)},"stdout":"`;
  let first = true;
  for (let after = 0; ; ) {
    const page = await store.readLogs(run.id, after, RESPONSE_PAGE);
    let text = '';
    for (const record of page) {
      // a line as JSON string text without its quotes; lines joined by an escaped newline
      text += (first ? '' : '\\n') + JSON.stringify(productionLine(record)).slice(1, -1);
      first = false;
    }
    if (text !== '') yield text;
    if (page.length < RESPONSE_PAGE) break;
    after = page[page.length - 1]?.seq ?? after;
  }
  const tail = JSON.stringify({ error: run.error_message, run_id: run.id, duration_seconds: run.duration_seconds });
  yield `",${tail.slice(1)}`;
}

function parseSpec(body: Record<string, unknown>): TaskSpec {
  const command = stringList(body.command, 'command', LIMITS.commandArgs, LIMITS.commandBytes);
  if (command.length === 0) throw badRequest('command', 'expected the command and its arguments, a non-empty array of strings');
  // stored as the run's command too, joined by spaces: the same bound as a run's
  if (!fitsBytes(command.join(' '), LIMITS.commandBytes)) throw badRequest('command', `longer than ${LIMITS.commandBytes} bytes, arguments joined by spaces`);
  const setup = body.setup === undefined ? [] : stringList(body.setup, 'setup', LIMITS.setupSteps, LIMITS.setupStepBytes);
  const cwd = optionalText(body.cwd, 'cwd', LIMITS.cwdBytes) ?? null;
  // no directory has an empty name: the worker would fail the task at once ("working directory  does not exist")
  if (cwd === '') throw badRequest('cwd', "expected a directory on the worker, not an empty string (null or no cwd: the worker's own)");
  const env = envField(body.env);
  command.forEach((arg, index) => noNul(arg, `command[${index}]`));
  setup.forEach((step, index) => noNul(step, `setup[${index}]`));
  if (cwd !== null) noNul(cwd, 'cwd');
  for (const [key, value] of Object.entries(env)) noNul(value, `env.${key}`);
  return { command, setup, env, cwd };
}

/**
 * What reaches execve on the worker holds no NUL byte: the worker could not start the command, and
 * its run stayed `running`. Refused here, by field (never quoting it: an env value is a secret).
 */
function noNul(text: string, field: string): void {
  if (text.includes('\0')) throw badRequest(field, 'holds a NUL byte, which a command, its arguments, directory and environment cannot');
}

/** A task's spec as stored: the env's values masked, and sealed beside them. */
type StoredSpec = TaskSpec & { env_sealed?: string };

/**
 * A claimed task's spec with its environment unsealed. A hub whose secret key is not the one that
 * sealed it (hubs on one database with different key files) hands the task back to the queue,
 * where a hub with the right key can give it out, and returns the 503 SECRET_KEY_MISMATCH to answer
 * if it has nothing else to give: before, the claim answered 500 and left the task running on a
 * worker that never got it.
 */
async function openSpec(store: Store, id: string, spec: StoredSpec, secrets: RouteContext['secrets']): Promise<TaskSpec | RunlogError> {
  const { env_sealed: sealed, ...rest } = spec;
  if (sealed === undefined) return rest;
  try {
    return { ...rest, env: secrets.unseal(sealed) };
  } catch (error) {
    await store.releaseTask(id);
    return unavailable(
      'SECRET_KEY_MISMATCH',
      `task ${id}: this hub cannot decrypt its environment (${(error as Error).message}); it was submitted through a hub with ` +
        `another secret key. Every hub on one database must use the same secret key file (--secret-file, RUNLOG_SECRET_FILE): ` +
        `the task stays queued for a hub that has it`,
    );
  }
}

function clipForLog(text: string | null): string {
  return text === null ? '' : text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function envField(value: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  if (value === undefined || value === null) return env;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('env', 'expected an object of strings');
  const entries = Object.entries(value);
  if (entries.length > LIMITS.envVars) throw badRequest('env', `at most ${LIMITS.envVars} variables, got ${entries.length}`);
  let bytes = 0;
  for (const [key, text] of entries) {
    const at = `env.${key.slice(0, LIMITS.envNameBytes)}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || key.length > LIMITS.envNameBytes) throw badRequest(at, `not a variable name of at most ${LIMITS.envNameBytes} bytes`);
    env[key] = textField(text, at, LIMITS.envBytes);
    bytes += key.length + Buffer.byteLength(env[key]);
    if (bytes > LIMITS.envBytes) throw badRequest('env', `larger than ${LIMITS.envBytes} bytes, names and values together`);
  }
  return env;
}

/** An array of at most `maxItems` strings of at most `maxBytes` each; an item past its bound is named (`setup[2]`). */
function stringList(value: unknown, field: string, maxItems: number, maxBytes: number): string[] {
  if (!Array.isArray(value)) throw badRequest(field, 'expected an array of strings');
  if (value.length > maxItems) throw badRequest(field, `at most ${maxItems} items, got ${value.length}`);
  value.forEach((item, index) => textField(item, `${field}[${index}]`, maxBytes));
  return value as string[];
}
