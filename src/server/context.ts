/** What every route needs: the store, the live fan-out, the configuration, the token cache, the secrets' key, the audit log. */
import type { HubConfig } from '../core/config.js';
import type { LiveFanout } from '../pipeline/live.js';
import type { Store } from '../store/store.js';
import type { StorageHealth } from './storage.js';
import type { TokenCache } from './auth/cache.js';
import type { SecretBox } from './auth/secrets.js';

/** An audit event (token created, cleanup, …) with the token that did it; never a secret. */
export type AuditLog = (event: string, fields: Record<string, string | number | null | undefined>) => void;

export interface HubContext {
  store: Store;
  live: LiveFanout;
  config: Readonly<HubConfig>;
  /** whether the store had room at its last write (buildApp makes one when not given) */
  storage?: StorageHealth;
  tokens?: TokenCache;
  secrets?: SecretBox;
  audit?: AuditLog;
}

/** The context as routes see it, with what buildApp fills in when the caller does not give it. */
export interface RouteContext extends Required<HubContext> {
  tokens: TokenCache;
  secrets: SecretBox;
  audit: AuditLog;
}
