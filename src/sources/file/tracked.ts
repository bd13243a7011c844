/**
 * A followed file as FileFollower holds it (Tracked): its descriptor, its LineFeed (the offset read
 * to, the marks of what became which records), what the hub has of it, and how it is held:
 * - open, under a followed name (active) or under none any more (detached: renamed, deleted,
 *   replaced, read on by the descriptor while its writer may still write);
 * - let go (fd -1, released.ts): closed after a long quiet, still looked at by name for growth,
 *   and opened again (reopenTracked) to read on from its offset;
 * - gone: let go and not to be found any more, kept only until what was read of it is delivered.
 * Nothing of this is on disk but the checkpoint a follower writes (checkpointed.ts): a crash closes
 * every descriptor, and a restart opens the files again where the checkpoint's offsets say.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { Level } from '../../core/record.js';
import { bytesBeforeFd, fingerprintFd, tailFingerprintFd } from './checkpoint.js';
import { LineFeed, TAIL_BYTES, type ByteSink, type DeliveryMark, type FileIdentity } from './feed.js';
import { isReleased, pathOfFd, type Release } from './released.js';

/** The part of a RecordBuilder a follower feeds. */
export interface LineTarget {
  readonly lastSeq: number;
  source(source: 'file', attrs: Record<string, unknown>): ByteSink;
  system(message: string, level?: Level): unknown;
}

export interface Tracked {
  name: string;
  fd: number;
  feed: LineFeed;
  /** the file's size at the last look */
  size: number;
  /** its birth time (ms; 0 where the file system keeps none): tells it from a new file on its inode once it is gone */
  birth: number;
  /** the name no longer points to this file */
  detached: boolean;
  /** the last mark the hub has */
  delivered: DeliveryMark;
  /** opened at its end (--from-end): the bytes before were never wanted */
  skipped: number;
  /** the tail fingerprint of the last offset a checkpoint asked for (read again only when it moves) */
  tail?: { offset: number; ino: number; tail_fp: string; tail_len: number };
  /** nothing of the file read yet (opened at its start, empty at every look since): its mtime and its rotated siblings at the last look */
  unread?: { mtimeMs: number; siblings: Set<string> };
  /** let go (fd -1) and looked at by name for growth (released.ts) */
  released?: Release;
  /** let go and not to be found any more (deleted, moved away, forgotten): kept only until delivered */
  gone?: boolean;
  /** deleted, and last seen held open by another process then (ms; released.ts quietFor) */
  heldElsewhereAt?: number;
}

/** Opens `name` (found at `at`) to be read from `offset`; undefined when it cannot be opened (gone meanwhile). */
export function openTracked(
  name: string,
  offset: number,
  detached: boolean,
  atEnd: boolean,
  target: LineTarget,
  maxLineBytes: number | undefined,
  at = name,
): Tracked | undefined {
  let fd: number;
  try {
    fd = openSync(at, 'r');
  } catch {
    return undefined;
  }
  const stats = fstatSync(fd);
  const identity: FileIdentity = { dev: stats.dev, ino: stats.ino, ...fingerprintFd(fd) };
  const source = target.source('file', { path: name });
  // the bytes before a resumed offset: a truncation before the next read still finds the real copy
  const tail = bytesBeforeFd(fd, offset, TAIL_BYTES);
  // a checkpoint inside a read counts that read's lines again in the file (see LineFeed.exactMark)
  const reread = (at: number, length: number) => (tracked.fd === -1 ? undefined : readFdAt(tracked.fd, at, length));
  const feed = new LineFeed(source, () => target.lastSeq, identity, offset, maxLineBytes, tail, reread);
  const skipped = atEnd ? offset : 0;
  const tracked: Tracked = { name, fd, feed, size: stats.size, birth: stats.birthtimeMs, detached, delivered: { ...identity, seq: target.lastSeq, offset }, skipped };
  return tracked;
}

/**
 * Fingerprints the bytes before `offset` of the open file into `tracked.tail`, unless it holds
 * them already; false when they cannot be read (an I/O error).
 */
export function noteTail(tracked: Tracked, offset: number, ino: number): boolean {
  if (tracked.tail?.offset === offset && tracked.tail.ino === ino) return true;
  try {
    tracked.tail = { offset, ino, ...tailFingerprintFd(tracked.fd, offset) };
    return true;
  } catch {
    return false;
  }
}

/** Closes the file, remembering where it is so that its growth is seen (released.ts). */
export function releaseTracked(tracked: Tracked, flush = true): void {
  if (flush) tracked.feed.flush();
  const stats = fstatSync(tracked.fd);
  tracked.released = { at: pathOfFd(tracked.fd), birth: stats.birthtimeMs, since: Date.now() };
  // the bytes before where it is read to, for the checkpoints written while it is closed (tailOf)
  if (!noteTail(tracked, tracked.feed.offset, stats.ino)) tracked.tail = undefined;
  // deleted: nothing but its writer can reach it now
  tracked.gone = stats.nlink === 0;
  closeSync(tracked.fd);
  tracked.fd = -1;
}

/** Opens a let-go file again at `path`; false when it is not the same file there any more. */
export function reopenTracked(tracked: Tracked, path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  if (!isReleased(tracked.feed.identity, tracked.released!, fstatSync(fd), path)) {
    closeSync(fd);
    return false;
  }
  tracked.fd = fd;
  tracked.released = undefined;
  // quiet since it was let go: it counts as growing from now on (read() sees a truncation too)
  tracked.feed.lastGrowthAt = Date.now();
  return true;
}

/** The tracked file (open, or let go and still looked at) is the one at `path`. */
export function isTrackedFile(tracked: Tracked, stats: Stats, path: string): boolean {
  if (tracked.fd !== -1) return tracked.feed.identity.ino === stats.ino && tracked.feed.identity.dev === stats.dev;
  return !tracked.gone && tracked.released !== undefined && isReleased(tracked.feed.identity, tracked.released, stats, path);
}

/** The bytes of an open file at [offset, offset + length); undefined when they cannot all be read (shorter now, an I/O error). */
export function readFdAt(fd: number, offset: number, length: number): Buffer | undefined {
  const bytes = Buffer.allocUnsafe(length);
  let read = 0;
  try {
    while (read < length) {
      const n = readSync(fd, bytes, read, length - read, offset + read);
      if (n === 0) return undefined;
      read += n;
    }
  } catch {
    return undefined;
  }
  return bytes;
}
