/**
 * The store's room to write, as the hub last saw it. A write that fails because the disk is full
 * (SQLite's SQLITE_FULL, or ENOSPC) answers 507 STORAGE_FULL instead of a 500, and /healthz says
 * so until a write succeeds again: senders treat 507 like 503 and retry with backoff, so a full
 * disk delays a run but never splits it between the hub and a runner's local store.
 */
import { RunlogError } from '../core/errors.js';
import { nowMicros } from '../core/record.js';
import type { DiskReserve } from './disk-reserve.js';

export class StorageHealth {
  /** room kept aside for retention on a full disk (a SQLite store's), given back by deleteOlderThan */
  reserve: DiskReserve | undefined;

  /** the error of the last write that found the disk full, until a write succeeds */
  fullError: string | null = null;
  /**
   * When the store last failed for want of room or reach (µs), or null: writers could not renew
   * their leases meanwhile, so the hub counts their silence from then (housekeeping.ts), as it
   * does from its own start.
   */
  troubledAt: number | null = null;

  noteTrouble(): void {
    this.troubledAt = nowMicros();
  }

  /** The API's error for `error` when it is a full disk (and remember it), else undefined. */
  check(error: unknown): RunlogError | undefined {
    // a route's own 507, which says more (what a /text body had stored before): kept as it is
    if (error instanceof StoreFullAfter) {
      this.fullError = error.detail;
      return error;
    }
    if (!isDiskFull(error)) return undefined;
    this.fullError = fullDetail(error);
    return new RunlogError(507, 'STORAGE_FULL', `the hub's store is full (${this.fullError}): retry later`);
  }

  writeSucceeded(): void {
    this.fullError = null;
  }
}

/** `SQLITE_FULL: database or disk is full`: the code and message of a disk-full error */
export function fullDetail(error: unknown): string {
  return `${(error as NodeJS.ErrnoException).code ?? 'ENOSPC'}: ${(error as Error).message}`;
}

/** 507 for a request the disk filled up during, after part of it was stored: the message says which part. */
export class StoreFullAfter extends RunlogError {
  constructor(
    readonly detail: string,
    message: string,
  ) {
    super(507, 'STORAGE_FULL', message);
  }
}

export function isDiskFull(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || (typeof message === 'string' && /database or disk is full|ENOSPC|no space left/i.test(message));
}
