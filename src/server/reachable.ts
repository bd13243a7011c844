/**
 * The store out of reach: PostgreSQL down or restarting, refusing connections (too many, the
 * database closed to them, a revoked login or CONNECT), the database gone, a connection cut; SQLite's file
 * unreadable. Nothing is wrong with the request, so it is 503 STORE_UNAVAILABLE rather than 500
 * INTERNAL: senders retry a 503 with backoff (as they do a 507), and a load balancer tries another hub.
 */
import { RunlogError } from '../core/errors.js';

/** PostgreSQL's SQLSTATEs of a connection that could not be made or was lost (appendix A of its manual). */
const UNREACHABLE_SQLSTATE = /^(08...|57P0[123]|3D000|53300|28...)$/;
/** SQLite's: the file cannot be opened or read (a data directory on a mount that went away) */
const UNREACHABLE_SQLITE = /^SQLITE_(CANTOPEN|IOERR)/;
/** the socket's own errors, and pg's when the connection ends under a query or never opens */
const UNREACHABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/**
 * 42501 is any missing privilege; only on connecting (CONNECT revoked from the role or PUBLIC) does
 * it mean the database is closed to the hub. A table's privilege missing stays a 500: no retry mends it.
 */
const CONNECT_DENIED = /permission denied for database/i;
const UNREACHABLE_MESSAGE = /Connection terminated|not currently accepting connections|timeout exceeded when trying to connect|not queryable|Cannot use a pool after calling end/i;

export function isStoreUnreachable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_SQLSTATE.test(code) || UNREACHABLE_SQLITE.test(code) || UNREACHABLE_ERRNO.has(code))) return true;
  if (code === '42501' && typeof message === 'string' && CONNECT_DENIED.test(message)) return true;
  return typeof message === 'string' && UNREACHABLE_MESSAGE.test(message);
}

/** The API's error for `error` when it says the store is out of reach, else undefined. */
export function storeUnavailable(error: unknown): RunlogError | undefined {
  if (!isStoreUnreachable(error)) return undefined;
  return new RunlogError(503, 'STORE_UNAVAILABLE', `the hub's store is unreachable (${errorText(error)}): retry later`);
}

/** An error in a few words for an answer or a log: its code and message on one line. */
export function errorText(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = `${typeof code === 'string' ? `${code} ` : ''}${String(message ?? error)}`;
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
