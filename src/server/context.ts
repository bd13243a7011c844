/** What every route needs: the store, the live fan-out, the configuration. */
import type { HubConfig } from '../core/config.js';
import type { LiveFanout } from '../pipeline/live.js';
import type { Store } from '../store/store.js';
import type { StorageHealth } from './storage.js';

export interface HubContext {
  store: Store;
  live: LiveFanout;
  config: Readonly<HubConfig>;
  /** whether the store had room at its last write (buildApp makes one when not given) */
  storage?: StorageHealth;
}
