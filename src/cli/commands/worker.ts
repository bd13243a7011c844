/** `runlog worker --id ID`: a worker agent until SIGTERM/SIGINT (see agent/worker.ts). */
import { join, resolve } from 'node:path';
import { DEFAULTS } from '../../core/config.js';
import { LIMITS } from '../../core/limits.js';
import { WorkerAgent } from '../../agent/worker.js';
import { durationMs, id as checkId, leaseSeconds, positiveInt, UsageError } from '../args.js';
import { deliverLeftoversInBackground } from '../background-sync.js';
import { findHub } from '../hub-client.js';
import { keepHeapSmall } from '../lean-heap.js';

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
}

export async function workerCommand(flags: WorkerFlags): Promise<void> {
  keepHeapSmall();
  const id = checkId(flags.id, '--id');
  if (flags.hub === 'none') throw new UsageError('--hub: a worker needs a hub, to claim tasks from and to send heartbeats to');
  // a hub that does not answer yet is waited for (heartbeats spool meanwhile)
  const hub = (await findHub(flags.hub, false)) ?? DEFAULTS.hub;
  const dataDir = resolve(flags.data);
  // what earlier runners and workers on this data directory left undelivered goes now
  deliverLeftoversInBackground(dataDir);
  const agent = await WorkerAgent.create({
    id,
    hub,
    dataDir,
    heartbeatMs: heartbeatMs(flags.heartbeat),
    bufferSize: flags.buffer !== undefined ? positiveInt(flags.buffer, '--buffer') : positiveInt(process.env.LOG_BUFFER_SIZE ?? String(DEFAULTS.bufferSize), 'LOG_BUFFER_SIZE'),
    spoolDir: flags.spool === undefined ? join(dataDir, 'spool') : resolve(flags.spool),
    spoolMaxBytes: positiveInt(flags.spoolMax, '--spool-max'),
    pollMs: durationMs(flags.poll, '--poll'),
    drain: flags.drain === true,
    leaseSeconds: leaseSeconds(flags.lease),
    debug: flags.debug === true || ['1', 'true'].includes(process.env.RUNLOG_DEBUG ?? ''),
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => agent.stop(signal));
  await agent.run();
  process.exit(0);
}

/** --heartbeat takes a duration (20s); the seed's HEARTBEAT_INTERVAL is in seconds. */
function heartbeatMs(flag: string | undefined): number {
  const seed = process.env.HEARTBEAT_INTERVAL;
  let ms = DEFAULTS.heartbeatSeconds * 1000;
  if (flag !== undefined) ms = /^\d+(\.\d+)?$/.test(flag) ? Number(flag) * 1000 : durationMs(flag, '--heartbeat');
  else if (seed !== undefined && seed !== '') ms = positiveInt(seed, 'HEARTBEAT_INTERVAL') * 1000;
  // the hub takes intervals up to an hour (docs/api.md, Limits): a worker silent longer would look dead
  if (ms > LIMITS.heartbeatIntervalS.max * 1000) throw new UsageError(`${flag === undefined ? 'HEARTBEAT_INTERVAL' : '--heartbeat'}: at most ${LIMITS.heartbeatIntervalS.max}s`);
  return ms;
}
