/** Where the read commands read from: the hub when one answers, else the local store. */
import { databaseFile } from '../core/config.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { findHub, HubReader, type RunReader } from './hub-client.js';

export interface Reader {
  reader: RunReader;
  hub?: string;
  close(): Promise<void>;
}

export async function openReader(flags: { hub?: string; data: string }): Promise<Reader> {
  const hub = await findHub(flags.hub, true);
  if (hub !== undefined) return { reader: new HubReader(hub), hub, close: async () => {} };
  const store = new SqliteStore(databaseFile(flags.data));
  return { reader: store, close: () => store.close() };
}
