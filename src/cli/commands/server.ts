import { startHub } from '../../server/listen.js';
import { positiveInt } from '../args.js';

export async function serverCommand(options: { host: string; port: string; data: string; maxLineBytes: string }): Promise<void> {
  const hub = await startHub({
    host: options.host,
    port: positiveInt(options.port, '--port', 0),
    dataDir: options.data,
    maxLineBytes: positiveInt(options.maxLineBytes, '--max-line-bytes'),
  });
  process.stdout.write(`runlog hub listening on ${hub.url} (data in ${options.data})\n`);
  const stop = async () => {
    await hub.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
