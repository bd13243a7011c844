/** Starts a hub: opens the store, builds the app, binds the port, starts housekeeping. The one place that listens. */
import { terminalJson } from '../core/terminal.js';
import { resolveHubConfig, type HubConfig } from '../core/config.js';
import { redactUrl } from '../core/redact.js';
import { shellJoin } from '../core/text.js';
import { LiveFanout } from '../pipeline/live.js';
import { isPostgres, openStore, sqliteFile } from '../store/open.js';
import type { Store } from '../store/store.js';
import { buildApp, warnOnStderr } from './app.js';
import { TokenCache } from './auth/cache.js';
import { keyFileProblem, secretKeyFile } from './auth/secrets.js';
import { isLoopbackHost } from './auth/hosts.js';
import { Housekeeping } from './housekeeping.js';
import { isDiskFull, StorageHealth } from './storage.js';
import { DiskReserve } from './disk-reserve.js';
import { lockDataDir, type PidLock } from './lock.js';
import { ChangeWatcher } from './watch.js';
import type { AuditLog } from './context.js';

/** The hub will not start as asked (a usage problem, exit 2 in the CLI). */
export class HubRefused extends Error {}

export interface RunningHub {
  url: string;
  store: Store;
  housekeeping: Housekeeping;
  close(): Promise<void>;
}

export interface StartOptions {
  logErrors?: boolean;
  /** where audit lines go (token created or revoked, cleanup, task submitted); default: stderr */
  audit?: AuditLog;
}

/**
 * The command that makes the first admin token in this hub's own store: its --db when it was given
 * one (a PostgreSQL hub keeps its tokens in the database; before, the hint named the data
 * directory, whose SQLite file such a hub never reads), else its data directory. A password in the
 * URL is not repeated: it is shown as *** and the hint says so.
 */
export function firstTokenCommand(config: Pick<HubConfig, 'db' | 'dataDir'>): string {
  const base = ['runlog', 'token', 'create', 'admin', '--scope', 'admin'];
  if (config.db === undefined || config.db === '') return shellJoin([...base, '--hub', 'none', '--data', config.dataDir]);
  const shown = redactUrl(config.db);
  const command = shellJoin([...base, '--db', shown]);
  return shown === config.db ? command : `${command} (with the URL's password where it shows ***)`;
}

export async function startHub(options: Partial<HubConfig> = {}, { logErrors = false, audit = auditToStderr }: StartOptions = {}): Promise<RunningHub> {
  const config = resolveHubConfig(options);
  const keyProblem = keyFileProblem(secretKeyFile(config), config.secretFile !== undefined);
  if (keyProblem !== undefined) throw new HubRefused(keyProblem);
  // one hub per SQLite data directory; hubs on PostgreSQL share the database, not a directory
  const reserve = isPostgres(config.db) || config.diskReserveBytes <= 0 ? undefined : new DiskReserve(`${sqliteFile(config)}-reserve`, config.diskReserveBytes);
  const lock = isPostgres(config.db) ? { release() {} } : lockOnFullDisk(config.dataDir, reserve);
  let store: Store;
  try {
    store = await openStore({ db: config.db, dataDir: config.dataDir });
  } catch (error) {
    lock.release();
    throw error;
  }
  // Redis's protected mode: beyond loopback, a hub without any token would let anyone run anything
  if (!isLoopbackHost(config.host) && (await store.countTokens()) === 0) {
    await store.close();
    lock.release();
    throw new HubRefused(
      `refusing to listen on ${config.host} with no token: anyone who can reach it could run commands on your workers. ` +
        `Create an admin token first: ${firstTokenCommand(config)}`,
    );
  }
  const live = new LiveFanout();
  const warn = logErrors ? warnOnStderr : () => {};
  const tokens = new TokenCache(store);
  const storage = new StorageHealth();
  storage.reserve = reserve;
  reserve?.ensure();
  const app = buildApp({ store, live, config, audit, tokens, storage }, { logger: false, warn });
  const housekeeping = new Housekeeping(store, live, config, warn, storage);
  const watcher = new ChangeWatcher(store, live, config.watchMs, warn);
  // several hubs on one database: what the others commit reaches this hub's viewers too
  const stopFollowing = await store.followOthers?.(live, warn, () => tokens.invalidate());
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await stopFollowing?.();
    await store.close();
    lock.release();
    throw error;
  }
  housekeeping.start();
  await watcher.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}${config.basePath}`,
    store,
    housekeeping,
    async close() {
      housekeeping.stop();
      watcher.stop();
      await stopFollowing?.();
      await app.close();
      await store.close();
      lock.release();
    },
  };
}

/**
 * The data directory's lock; on a disk full to the last byte (the hub restarted while its store
 * had filled it), the reserve is given back first: the hub then starts, serves what it has, and its
 * retention at start has room to delete (disk-reserve.ts). Without one, it exits saying so.
 */
function lockOnFullDisk(dataDir: string, reserve: DiskReserve | undefined): PidLock {
  try {
    return lockDataDir(dataDir);
  } catch (error) {
    if (!isDiskFull(error) || reserve?.release() !== true) throw error;
    return lockDataDir(dataDir);
  }
}

/** One line per audit event on the hub's stderr: `runlog audit <time> <event> key=value …`. */
export const auditToStderr: AuditLog = (event, fields) => {
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    // terminalJson: JSON.stringify leaves C1 and bidi controls raw, and a task's command is the submitter's text
    .map(([key, value]) => `${key}=${terminalJson(String(value))}`);
  process.stderr.write(`runlog audit ${new Date().toISOString()} ${event} ${pairs.join(' ')}\n`);
};
