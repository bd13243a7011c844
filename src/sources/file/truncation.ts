/**
 * A followed file that started over under the same inode: copytruncate (logrotate's copy, then the
 * file truncated), or a truncate and write again. Looked for on each read of a file (startedOver):
 * - shorter than what was read, or other first bytes than the fingerprinted ones: the bytes
 *   written between the last read and the truncation are looked for in a sibling whose first
 *   bytes and bytes before the offset are the file's (siblings.ts findCopy), read from the offset,
 *   then the copies made after it (copied and truncated more than once between two looks) whole;
 *   when none has them the loss is said in a `system` line. Then the file is read from its start.
 * - a file nothing of which was read yet (empty at every look) has no first bytes to compare: a
 *   copytruncate between two looks shows only as a new rotated sibling, read whole before it. A
 *   file that just started over is such a file: its siblings are listed before the copies are
 *   read, so a copy made while they were read (a stalled follower) is new at the next look.
 * On disk: nothing of its own. The copies beside the file are logrotate's; what was read of them
 * is in the file's feed (its marks) and the checkpoint a follower writes: a crash in the middle of
 * a copy leaves the offset of the file before it (a restart reads the copy again from there) or,
 * for a file nothing of which was read yet, the siblings known then (a restart reads the new ones).
 */
import { fstatSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { truncatedWithoutCopy } from '../said.js';
import { fingerprintFd } from './checkpoint.js';
import { readRange, readWhole } from './copies.js';
import { TAIL_BYTES, type LineFeed } from './feed.js';
import { findCopy, holdsBytesOf, isRotatedName, readAt, rotatedAfter, rotatedKeys, rotatedNew, safeStat, siblingKey } from './siblings.js';
import { readFdAt, type LineTarget, type Tracked } from './tracked.js';

/** What the follower tells of the other files it follows, and where copies are read into. */
export interface CopyReader {
  readonly buffer: Buffer;
  readonly target: LineTarget;
  /** the file at `path` is followed already (open, or let go and looked at): not read as a copy */
  tracking(path: string): boolean;
  /** a pattern names the file at `path`: it is followed on its own */
  matched(path: string): boolean;
  /** the copy at `path`, which a pattern names, was read through a file started over: followed on its own from its end */
  readThrough(path: string): void;
}

/**
 * Reads the copies of a file that started over (or, nothing read of it yet, was copied and
 * truncated) and points its feed at its start; the file's stats as they are afterwards.
 */
export function startedOver(tracked: Tracked, stats: Stats, files: CopyReader): Stats {
  const feed = tracked.feed;
  // nothing read of it yet: the copies made since the last look hold its first lines, read before
  // a truncation is judged (the copy a truncation finds is one of them: it would come twice)
  lookUnread(tracked, stats, files);
  if (stats.size >= feed.offset && (stats.size === tracked.size || !rewritten(tracked))) return stats;
  truncated(tracked, stats, files);
  const now = fstatSync(tracked.fd);
  lookUnread(tracked, now, files); // started over: the siblings now are the ones known
  return now;
}

/** Reads the copies of a file nothing of which was read yet (readCopiesOfUnread); once something was, it is no such file. */
function lookUnread(tracked: Tracked, stats: Stats, files: CopyReader): void {
  const feed = tracked.feed;
  if (!tracked.detached && feed.offset === 0 && (feed.identity.fp_len === 0 || tracked.unread !== undefined)) readCopiesOfUnread(tracked, stats, files);
  else tracked.unread = undefined;
}

/** The first bytes are not the ones fingerprinted: the file was truncated and written again. */
function rewritten(tracked: Tracked): boolean {
  const { fp, fp_len } = tracked.feed.identity;
  return fp_len > 0 && fingerprintFd(tracked.fd, fp_len).fp !== fp;
}

function truncated(tracked: Tracked, stats: Stats, files: CopyReader): void {
  const feed = tracked.feed;
  // the siblings before the copies are looked for: one made later (the follower stalled while it
  // read them, and the file was copied and truncated again) holds lines of the file started over
  const known = rotatedKeys(tracked.name);
  const copy = findCopy(tracked.name, feed.identity, feed.offset, feed.tail, stats.ino);
  const read: string[] = [];
  if (copy !== undefined) {
    readRange(copy, feed, files.buffer);
    read.push(copy, ...readLaterCopies(tracked.name, copy, feed, files));
  } else if (tracked.skipped > 0 && feed.offset === tracked.skipped) {
    // nothing read yet of a file opened at its end (`tee` starting it over): nothing lost
  } else {
    files.target.system(truncatedWithoutCopy(tracked.name, feed.offset), 'WARNING');
  }
  fromStart(feed, stats, copy !== undefined);
  // started over, nothing of it read yet: the copies made since `known` come before it (mtime -1: looked at now)
  for (const path of read) known.add(siblingKey(safeStat(path)));
  // a copy the patterns match (app.log.1 under app.log*) is followed on its own too: from its end
  for (const path of read) if (files.matched(path)) files.readThrough(path);
  tracked.unread = { mtimeMs: -1, siblings: known };
}

/**
 * Copied and truncated more than once between two looks (a follower stalled on a loaded machine,
 * a laptop asleep): the copies made after the one found hold what came between, oldest first.
 * Read whole through the same feed, so a line cut by a copytruncate is joined across copies.
 */
function readLaterCopies(name: string, copy: string, feed: LineFeed, files: CopyReader): string[] {
  const later = rotatedAfter(name, copy).filter((path) => !files.tracking(path));
  readWhole(later, feed, files.buffer);
  return later;
}

/**
 * An empty file, copied and truncated before its first read (a stalled follower, copytruncate
 * right after the file was made): its size and first bytes say nothing, its lines are in the
 * rotated siblings made since the last look. Read whole, oldest first, through the same feed.
 */
function readCopiesOfUnread(tracked: Tracked, stats: Stats, files: CopyReader): void {
  const last = tracked.unread;
  if (last !== undefined && last.mtimeMs === stats.mtimeMs && stats.size === 0) return; // untouched since
  // one listing for the copies and the siblings known from now on (rotatedNew)
  const { added, keys } = rotatedNew(tracked.name, last?.siblings ?? new Set());
  // a copy the patterns match (app.log* ) is a file followed on its own: not read twice
  const copies = last === undefined ? [] : added.filter((copy) => !files.tracking(copy) && !files.matched(copy));
  tracked.unread = { mtimeMs: stats.mtimeMs, siblings: keys };
  if (copies.length === 0) return;
  readWhole(copies, tracked.feed, files.buffer);
  fromStart(tracked.feed, stats, true);
}

/** The feed reads the file (no first bytes known yet) from its start; `keepHeld`: a partial line cut by a copy goes on in it. */
function fromStart(feed: LineFeed, stats: Stats, keepHeld: boolean): void {
  feed.restart({ dev: stats.dev, ino: stats.ino, fp: '', fp_len: 0 }, 0, keepHeld);
}

/**
 * The new file at `path` (one the patterns match) as a copy of the followed `tracked` (app.log.1
 * under app.log*, made by copytruncate): 'copy' when named as its rotated copy, with its first
 * bytes and its bytes before where it was read to (or, copied before its last read, the bytes the
 * file holds where the copy ends); 'maybe' when so named and empty (cp makes the file, then writes
 * it). Every byte of a copy is read through the followed file: the ones before its offset were,
 * and its truncation reads the rest from the copy (findCopy). Read whole as a file of its own as
 * well, the copy's lines came twice.
 */
export function copyOfFollowed(path: string, stats: Stats, tracked: Tracked): 'copy' | 'maybe' | undefined {
  const { identity, offset, tail } = tracked.feed;
  if (tracked.detached || tracked.fd === -1 || identity.fp_len === 0) return undefined;
  if (dirname(path) !== dirname(tracked.name) || !isRotatedName(basename(tracked.name), basename(path))) return undefined;
  if (stats.size === 0) return 'maybe';
  if (stats.size >= offset) return holdsBytesOf(path, stats, identity, offset, tail) ? 'copy' : undefined;
  // copied before the file's last read (or being copied): its first and last bytes are the file's there
  const length = Math.min(TAIL_BYTES, stats.size);
  const first = readAt(path, 0, length);
  const last = readAt(path, stats.size - length, length);
  const same = (bytes: Buffer | undefined, at: number) => bytes !== undefined && readFdAt(tracked.fd, at, length)?.equals(bytes) === true;
  return same(first, 0) && same(last, stats.size - length) ? 'copy' : undefined;
}
