/**
 * TokenCache: what the hub knows of tokens, without a store query per request. A token looked up
 * is kept 5 s; a change made through this hub, or on PostgreSQL by any process (a notice: see
 * postgres/notify.ts), empties the cache at once, so a revoked token stops working everywhere
 * within a notice's delivery. Only a change made on a SQLite file by `runlog token … --hub none`
 * while the hub runs waits for the 5 s. Whether any token exists is asked again every 2 s. `last_used_at` is written at most
 * once a minute per token.
 */
import { nowMicros } from '../../core/record.js';
import type { Store, TokenRecord } from '../../store/store.js';

const TOKEN_TTL_MS = 5_000;
const COUNT_TTL_MS = 2_000;
const TOUCH_EVERY_MS = 60_000;
const MAX_ENTRIES = 10_000; // unknown hashes are cached too (a client retrying a bad token): bounded

export class TokenCache {
  private readonly byHash = new Map<string, { token: TokenRecord | undefined; at: number }>();
  private readonly touched = new Map<string, number>();
  private count: { value: number; at: number } | undefined;

  constructor(private readonly store: Store) {}

  /** Do tokens exist (so that every request must carry one)? */
  async anyToken(): Promise<boolean> {
    const now = Date.now();
    if (this.count === undefined || now - this.count.at > COUNT_TTL_MS) {
      this.count = { value: await this.store.countTokens(), at: now };
    }
    return this.count.value > 0;
  }

  async lookup(hash: string): Promise<TokenRecord | undefined> {
    const now = Date.now();
    const cached = this.byHash.get(hash);
    if (cached !== undefined && now - cached.at <= TOKEN_TTL_MS) return cached.token;
    const token = await this.store.findToken(hash);
    if (this.byHash.size >= MAX_ENTRIES) this.byHash.clear();
    this.byHash.set(hash, { token, at: now });
    return token;
  }

  /** Records the token's use, at most once a minute; never fails the request. */
  used(token: TokenRecord): void {
    const now = Date.now();
    if (now - (this.touched.get(token.name) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(token.name, now);
    this.store.touchToken(token.name, nowMicros()).catch(() => {});
  }

  /** A token was created or revoked here: forget what we knew. */
  invalidate(): void {
    this.byHash.clear();
    this.count = undefined;
  }
}
