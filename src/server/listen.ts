/** Starts a hub: opens the store, builds the app, binds the port, starts housekeeping. The one place that listens. */
import { databaseFile, resolveHubConfig, type HubConfig } from '../core/config.js';
import { LiveFanout } from '../pipeline/live.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { Store } from '../store/store.js';
import { buildApp } from './app.js';
import { Housekeeping } from './housekeeping.js';

export interface RunningHub {
  url: string;
  store: Store;
  housekeeping: Housekeeping;
  close(): Promise<void>;
}

export async function startHub(options: Partial<HubConfig> = {}, { logErrors = false } = {}): Promise<RunningHub> {
  const config = resolveHubConfig(options);
  const store = new SqliteStore(databaseFile(config.dataDir));
  const live = new LiveFanout();
  const app = buildApp({ store, live, config }, { logger: logErrors ? { level: 'warn' } : false });
  const housekeeping = new Housekeeping(store, live, config, (message) => app.log.warn(message));
  await app.listen({ host: config.host, port: config.port });
  housekeeping.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}${config.basePath}`,
    store,
    housekeeping,
    async close() {
      housekeeping.stop();
      await app.close();
      await store.close();
    },
  };
}
