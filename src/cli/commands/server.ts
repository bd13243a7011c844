import { startHub } from '../../server/listen.js';
import { describeStore } from '../../store/open.js';
import { durationMs, positiveInt } from '../args.js';

export interface ServerFlags {
  host: string;
  port: string;
  data: string;
  db?: string;
  maxLineBytes: string;
  retention: string;
  runRetention: string;
}

export async function serverCommand(flags: ServerFlags): Promise<void> {
  const hub = await startHub(
    {
      host: flags.host,
      port: positiveInt(flags.port, '--port', 0),
      dataDir: flags.data,
      db: flags.db === '' ? undefined : flags.db,
      maxLineBytes: positiveInt(flags.maxLineBytes, '--max-line-bytes'),
      workerRetentionMs: durationMs(flags.retention, '--retention'),
      runRetentionMs: flags.runRetention === '0' ? 0 : durationMs(flags.runRetention, '--run-retention'),
    },
    { logErrors: true },
  );
  process.stdout.write(`runlog hub listening on ${hub.url} (store: ${describeStore({ db: flags.db, dataDir: flags.data })})\n`);
  const stop = async () => {
    await hub.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
