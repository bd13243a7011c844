/**
 * Configuration: defaults in one literal, each with its environment twin. User options →
 * resolve*Config() → one frozen object. The CLI declares its flags from these same tables.
 */
import { resolve } from 'node:path';

export const DEFAULTS = {
  host: '127.0.0.1', // the hub binds loopback unless told otherwise
  port: 7070,
  data: '.runlog', // relative to the working directory
  hub: 'http://127.0.0.1:7070',
  healthStoreMs: 300, // /healthz waits this long for the store's answer, then says store: "slow" …
  hubProbeMs: 500, // … within a runner's wait for /healthz: a slow database never makes a hub look absent
  healthSlowGraceMs: 10_000, // a store slow for less than this since its last answer is still healthy (200, store "slow")
  maxLineBytes: 64 * 1024, // 64 KiB
  bodyLimit: 32 * 1024 * 1024, // 32 MiB: 1,000 lines at the line limit would still be refused, see the shipper
  sseBacklog: 500, // lines sent before live when the client gives no Last-Event-ID
  sseMaxQueuedBytes: 8 * 1024 * 1024, // 8 MiB queued for one slow subscriber, then it is closed
  ssePingMs: 15_000,
  flushMs: 50, // the runner ships a batch every 50 ms …
  flushLines: 1000, // … or every 1,000 lines, whichever comes first
  progressPerSecond: 4, // live progress updates per stream
  workerRetention: '48h', // worker lines are kept this long
  heartbeatSeconds: 20, // a worker's heartbeat interval
  bufferSize: 100, // a worker's lines buffered before a flush
  spoolMaxBytes: 256 * 1024 * 1024, // 256 MiB of heartbeats waiting on disk, then the oldest go
  leaseSeconds: 10, // a run's writer renews its lease this often; silent for LEASE_MISSES leases, the run fails
  housekeepingMs: 5_000, // the hub checks for dead workers and expired leases this often
  cleanupMs: 10 * 60_000, // and applies retention this often
  watchMs: 200, // the hub looks for lines and ends written to its store by other processes this often
  walSyncMs: 100, // the runner's write-ahead log is fdatasynced at most this often
  walMemoryLines: 2_000, // lines the shipper keeps in memory (~0.5 MB); further behind, they are read back from the WAL
  diskReserveBytes: 16 * 1024 * 1024, // 16 MiB beside runlog.db for `runlog server`, given back to retention on a full disk
} as const;

/** a run whose writer has been silent this many leases is failed as "runner lost" */
export const LEASE_MISSES = 3;

export interface HubConfig {
  host: string;
  port: number;
  dataDir: string;
  /** the store: a PostgreSQL URL or a SQLite file; default: runlog.db in dataDir */
  db?: string;
  maxLineBytes: number;
  bodyLimit: number;
  sseBacklog: number;
  sseMaxQueuedBytes: number;
  ssePingMs: number;
  /** ms: worker lines older than this are deleted by the hub */
  workerRetentionMs: number;
  /** ms: ended runs older than this are deleted with their lines (0: kept forever) */
  runRetentionMs: number;
  housekeepingMs: number;
  cleanupMs: number;
  /** ms: how often the hub looks for what other processes wrote to its store */
  watchMs: number;
  /** the built web UI; default: web/dist of the package */
  uiDir?: string;
  /** a path every route is served under, behind a reverse proxy (`/runlog`); '' for none */
  basePath: string;
  /** one line per request on stderr (method, route, status, ms, token name) */
  accessLog: boolean;
  /** the URLs users reach the hub at (behind a proxy): their host names are served too */
  publicUrls: string[];
  /** the key that encrypts tasks' environment values; default <data>/secret.key */
  secretFile?: string;
  /** bytes kept aside beside a SQLite store for retention on a full disk (disk-reserve.ts); 0: none */
  diskReserveBytes: number;
}

export function resolveHubConfig(options: Partial<HubConfig> = {}): Readonly<HubConfig> {
  const config = {
    host: DEFAULTS.host,
    port: DEFAULTS.port,
    dataDir: DEFAULTS.data,
    maxLineBytes: DEFAULTS.maxLineBytes,
    bodyLimit: DEFAULTS.bodyLimit,
    sseBacklog: DEFAULTS.sseBacklog,
    sseMaxQueuedBytes: DEFAULTS.sseMaxQueuedBytes,
    ssePingMs: DEFAULTS.ssePingMs,
    workerRetentionMs: 48 * 3_600_000,
    runRetentionMs: 0,
    housekeepingMs: DEFAULTS.housekeepingMs,
    cleanupMs: DEFAULTS.cleanupMs,
    basePath: '',
    accessLog: false,
    diskReserveBytes: 0, // `runlog server` keeps DEFAULTS.diskReserveBytes; a hub in code (the tests) none
    watchMs: DEFAULTS.watchMs,
    publicUrls: [] as string[],
    ...stripUndefined(options),
  } satisfies HubConfig;
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new Error(`port: expected 0-65535, got ${config.port}`);
  }
  // 0 would delete every worker line at the next cleanup (run retention's 0 is "forever")
  if (!(config.workerRetentionMs >= 1)) throw new Error(`workerRetentionMs: expected 1 ms or more, got ${config.workerRetentionMs}`);
  for (const url of config.publicUrls) {
    if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) throw new Error(`public URL: expected http(s)://host[:port][/path], got ${JSON.stringify(url)}`);
  }
  return Object.freeze({ ...config, dataDir: resolve(config.dataDir), basePath: normalizeBasePath(config.basePath) });
}

/** `/runlog`, `runlog/` → `/runlog`; '' and `/` → '' (no prefix). */
export function normalizeBasePath(path: string): string {
  const trimmed = path.trim().replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  if (!/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(trimmed)) {
    throw new Error(`base path: expected segments of letters, digits and . _ ~ - separated by /, got ${JSON.stringify(path)}`);
  }
  // a browser and a proxy resolve `.` and `..` away: the hub would serve a path no request reaches
  if (trimmed.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new Error(`base path: . and .. are not segments a request can reach, got ${JSON.stringify(path)}`);
  }
  return `/${trimmed}`;
}

export function databaseFile(dataDir: string): string {
  return resolve(dataDir, 'runlog.db');
}

/** Whether `dataDir` is the default ./.runlog (the user named none, or named that one). */
export function isDefaultDataDir(dataDir: string): boolean {
  return resolve(dataDir) === resolve(DEFAULTS.data);
}

export function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
