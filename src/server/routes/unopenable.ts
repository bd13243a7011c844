/**
 * The queued tasks this hub could not open (their environment sealed by a hub with another secret
 * key), which its claims pass over: without this, every claim through the hub took the same oldest
 * sealed task, put it back, and answered 503, so the tasks queued behind it never went out through
 * this hub. An entry expires after `ttlMs`: the hub then tries the task once more (a key fixed, an
 * id reused by a task it can open) and, if it still cannot, passes over it again.
 */
const TTL_MS = 60_000; // one claim-and-put-back a minute per sealed task, so the 503 is still seen now and then
const MAX_IDS = 1000; // bounded: beyond it the oldest is forgotten (and tried once more)

export class UnopenableTasks {
  private readonly until = new Map<string, number>();

  constructor(private readonly ttlMs = TTL_MS) {}

  add(id: string, now = Date.now()): void {
    this.until.delete(id);
    this.until.set(id, now + this.ttlMs);
    if (this.until.size > MAX_IDS) this.until.delete(this.until.keys().next().value as string);
  }

  /** The ids to pass over now (expired ones are dropped). */
  ids(now = Date.now()): string[] {
    for (const [id, until] of this.until) if (until <= now) this.until.delete(id);
    return [...this.until.keys()];
  }
}
