/** `runlog worker --id ID`: a worker agent until SIGTERM/SIGINT (see agent/worker.ts). */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULTS } from '../../core/config.js';
import { LIMITS } from '../../core/limits.js';
import { WorkerAgent } from '../../agent/worker.js';
import { checkNamedDataDir, durationMs, id as checkId, leaseSeconds, positiveDurationMs, positiveInt, UsageError } from '../args.js';
import { deliverLeftoversInBackground } from '../background-sync.js';
import { findHub } from '../hub-client.js';
import { keepHeapSmall } from '../lean-heap.js';
import { lockWithPid } from '../../server/lock.js';
import { isAlive } from '../../pipeline/spool/owner.js';
import { hubError, hubRequest, jsonOf } from '../../sinks/hub-http.js';
import type { Worker } from '../../store/store.js';
import { redactUrl } from '../../core/redact.js';

export interface WorkerFlags {
  id: string;
  hub?: string;
  data: string;
  heartbeat?: string;
  buffer?: string;
  spool?: string;
  spoolMax: string;
  poll: string;
  drain?: boolean;
  lease: string;
  debug?: boolean;
  replace?: boolean;
}

export async function workerCommand(flags: WorkerFlags): Promise<void> {
  keepHeapSmall();
  const id = checkId(flags.id, '--id');
  if (flags.hub === 'none') throw new UsageError('--hub: a worker needs a hub, to claim tasks from and to send heartbeats to');
  // a bad interval is said before the lock is taken and the hub asked
  const intervalMs = heartbeatMs(flags.heartbeat);
  checkNamedDataDir(flags.data);
  // a hub that does not answer yet is waited for (heartbeats spool meanwhile)
  const hub = (await findHub(flags.hub, false)) ?? DEFAULTS.hub;
  const dataDir = resolve(flags.data);
  // one process per worker id: two would share its spool, its task's process group, and its status
  const lock = lockWithPid(dataDir, `worker-${id}.lock`, (pid) => new Error(`worker ${id} is already running here (pid ${pid}, data directory ${dataDir}); stop it, or pick another --id`));
  process.on('exit', () => lock.release());
  await refuseIfElsewhereOrUnauthorized(hub, id, flags.replace === true);
  // what earlier runners and workers on this data directory left undelivered goes now
  deliverLeftoversInBackground(dataDir);
  const agent = await WorkerAgent.create({
    id,
    hub,
    dataDir,
    heartbeatMs: intervalMs,
    bufferSize: flags.buffer !== undefined ? positiveInt(flags.buffer, '--buffer') : positiveInt(process.env.LOG_BUFFER_SIZE ?? String(DEFAULTS.bufferSize), 'LOG_BUFFER_SIZE'),
    spoolDir: flags.spool === undefined ? join(dataDir, 'spool') : resolve(flags.spool),
    spoolMaxBytes: positiveInt(flags.spoolMax, '--spool-max'),
    pollMs: positiveDurationMs(flags.poll, '--poll'),
    drain: flags.drain === true,
    leaseSeconds: leaseSeconds(flags.lease),
    debug: flags.debug === true || ['1', 'true'].includes(process.env.RUNLOG_DEBUG ?? ''),
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => agent.stop(signal));
  await agent.run();
  process.exit(0);
}

/**
 * A token the hub refuses (unknown, revoked, expired, without the worker scope, or for another
 * worker id) stops the worker before it starts: it would run forever and never get a task or be
 * seen. A worker with this id that the hub sees online from another process (its heartbeats carry
 * host and pid) is refused: its tasks and status would be two processes' at once. A previous life
 * on this host that is dead (crashed) is not in the way; one on another host cannot be checked
 * from here, so `--replace` says it is gone. A hub that does not answer leaves it to the hub: the
 * worker starts, and its heartbeats wait in the spool.
 */
async function refuseIfElsewhereOrUnauthorized(hub: string, id: string, replace: boolean): Promise<void> {
  let worker: Worker | undefined;
  try {
    const answer = await hubRequest('GET', `${hub}/api/workers/${encodeURIComponent(id)}`, { timeoutMs: 5_000 });
    if (answer.status === 401 || answer.status === 403) {
      throw new UsageError(`the hub at ${redactUrl(hub)} refuses this worker's token (${answer.status}: ${await hubError(answer)}): check --token / RUNLOG_TOKEN (a token with the worker scope for ${id})`);
    }
    worker = answer.ok ? jsonOf<Worker>(answer.text) : undefined;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return;
  }
  if (replace || worker === undefined || worker.status === 'offline') return;
  const host = typeof worker.stats?.host === 'string' ? worker.stats.host : undefined;
  const pid = typeof worker.stats?.pid === 'number' ? worker.stats.pid : undefined;
  if (host === undefined || pid === undefined) return; // a worker that does not say where it runs (the seeds' own)
  if (host === hostname() && (pid === process.pid || !isAlive({ pid, start: null, kind: 'worker' }))) return;
  throw new Error(
    `worker ${id} is ${worker.status} from ${host} (pid ${pid}), its last heartbeat ${Math.round(worker.last_heartbeat_age_s ?? 0)} s ago: ` +
      'another process is using this id. Stop it, pick another --id, or pass --replace if it is gone',
  );
}

/**
 * HEARTBEAT_INTERVAL: seconds, fractions too ("2.5"), as the Python client reads it (it was read as
 * a whole number only: "2.5" was refused). Anything else is an error naming the variable.
 */
function seedSeconds(text: string): number {
  const seconds = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`HEARTBEAT_INTERVAL: expected a positive number of seconds, like 20 or 2.5, got ${JSON.stringify(text)}`);
  return seconds;
}

/** --heartbeat takes a duration (20s); the seed's HEARTBEAT_INTERVAL is in seconds. */
function heartbeatMs(flag: string | undefined): number {
  const seed = process.env.HEARTBEAT_INTERVAL;
  let ms = DEFAULTS.heartbeatSeconds * 1000;
  if (flag !== undefined) ms = /^\d+(\.\d+)?$/.test(flag) ? Number(flag) * 1000 : durationMs(flag, '--heartbeat');
  else if (seed !== undefined && seed.trim() !== '') ms = seedSeconds(seed) * 1000;
  // the hub takes intervals from 1 s (a worker beating faster would flood it) up to an hour
  if (ms < 1000) throw new UsageError(`${flag === undefined ? 'HEARTBEAT_INTERVAL' : '--heartbeat'}: at least 1s`);
  // the hub takes intervals up to an hour (docs/api.md, Limits): a worker silent longer would look dead
  if (ms > LIMITS.heartbeatIntervalS.max * 1000) throw new UsageError(`${flag === undefined ? 'HEARTBEAT_INTERVAL' : '--heartbeat'}: at most ${LIMITS.heartbeatIntervalS.max}s`);
  return ms;
}
