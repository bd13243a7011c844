import { DEFAULTS } from '../../core/config.js';
import { HubRefused, startHub } from '../../server/listen.js';
import { describeStore } from '../../store/open.js';
import { HUB, keepHeapSmall } from '../lean-heap.js';
import { checkNamedDataDir, durationMs, positiveDurationMs, positiveInt, UsageError } from '../args.js';

export interface ServerFlags {
  host: string;
  port: string;
  data: string;
  db?: string;
  maxLineBytes: string;
  retention: string;
  runRetention: string;
  basePath?: string;
  /** undefined: neither --access-log nor --no-access-log was given */
  accessLog?: boolean;
  publicUrl?: string;
  secretFile?: string;
}

export async function serverCommand(flags: ServerFlags): Promise<void> {
  const publicUrls = (flags.publicUrl ?? '').split(',').map((url) => url.trim()).filter(Boolean);
  for (const url of publicUrls) if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) throw new UsageError(`--public-url: expected http(s)://host[:port], got ${JSON.stringify(url)}`);
  // a --data it cannot write in (a file, /proc/x) is said naming the flag, not as the first file that failed there
  checkNamedDataDir(flags.data);
  keepHeapSmall(HUB);
  const hub = await startHub(
    {
      host: flags.host,
      port: portFlag(flags.port),
      dataDir: flags.data,
      db: flags.db === '' ? undefined : flags.db,
      maxLineBytes: positiveInt(flags.maxLineBytes, '--max-line-bytes'),
      workerRetentionMs: positiveDurationMs(flags.retention, '--retention', 'worker lines older than it are deleted: 0 would delete them all'),
      runRetentionMs: flags.runRetention === '0' ? 0 : durationMs(flags.runRetention, '--run-retention'),
      basePath: flags.basePath,
      // on unless turned off, by the flag or by RUNLOG_ACCESS_LOG=0/false/no
      accessLog: flags.accessLog ?? !['0', 'false', 'no'].includes((process.env.RUNLOG_ACCESS_LOG ?? '').toLowerCase()),
      publicUrls,
      secretFile: flags.secretFile,
      diskReserveBytes: DEFAULTS.diskReserveBytes,
    },
    { logErrors: true },
  ).catch((error: unknown) => {
    throw error instanceof HubRefused ? new UsageError(error.message) : error;
  });
  process.stdout.write(`runlog hub listening on ${hub.url} (store: ${describeStore({ db: flags.db, dataDir: flags.data })})\n`);
  const stop = async () => {
    await hub.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** --port, named as the user gave it (the hub's own check said `port: expected 0-65535`) */
function portFlag(text: string): number {
  const port = positiveInt(text, '--port', 0);
  if (port > 65535) throw new UsageError(`--port: expected 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
}
