/** Where the read commands read from: the hub when one answers, else the local store. */
import { openStore } from '../store/open.js';
import { findHub, HubReader, type RunReader } from './hub-client.js';

export interface Reader {
  reader: RunReader;
  hub?: string;
  close(): Promise<void>;
}

export async function openReader(flags: { hub?: string; data: string; db?: string }): Promise<Reader> {
  // a database given: read it directly (several hubs share it), else the hub when one answers
  const hub = flags.db ? undefined : await findHub(flags.hub, true);
  if (hub !== undefined) return { reader: new HubReader(hub), hub, close: async () => {} };
  const store = await openStore({ db: flags.db, dataDir: flags.data, readOnly: true });
  return { reader: store, close: () => store.close() };
}
