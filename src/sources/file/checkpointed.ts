/**
 * A followed file in the checkpoint (checkpoint.ts holds the format): the entry written for it
 * (checkpointEntry), and a restarted follower taking the entries up (resumeFiles).
 *
 * An entry stands for what the hub has: the file's identity and offset at the last delivered mark,
 * the fingerprint of the bytes before that offset while the file is open and still the mark's
 * (taken again only when the offset moves), its rotated siblings while nothing of it was read yet,
 * and `released` for a let-go file (looked at for growth by a restart too, none of it read again).
 * A crash leaves the last checkpoint written: a restart reads again from its offsets what the hub
 * may have already (the same seqs for one file), never less.
 *
 * A restarted follower finds each checkpointed file by device, inode and fingerprint, under its
 * name or a sibling's (rotated while nobody was following), and goes on from its offset, then
 * reads whole the siblings rotated after it (rotated twice meanwhile); a file deleted meanwhile that
 * its writer still has open is read on through the writer's descriptor (/proc/PID/fd/N); a file it
 * cannot find any more costs a `system` line saying how many bytes could not be read, unless
 * nothing of it can have been missed (issue 11: logrotate's `rotate 3` deletes app.log.3 at each
 * rotation, and every restart said so). A file is dropped from the checkpoint without a word when
 * all three hold:
 * - it is gone: no file in its directory has its device, inode and birth time (a file on its inode
 *   born at another time is a new one: ext4 hands a freed inode out again at once, to the new
 *   app.log); where the file system keeps no birth time, a file on its inode is taken for it;
 * - it had been read to its end when the checkpoint was written (its `size` is its `offset`: every
 *   byte it had then is on the hub);
 * - it was no longer the live file then (`rotated`: another file was under the name it was followed
 *   by, or under the name it is a rotated copy of, app.log for app.log.3): its writer had moved on.
 * A file that was still the live one may have been written to after the checkpoint, and one that
 * is there but shorter or with other bytes (truncated, rewritten) lost bytes: both get their line.
 * What stays unseen: a writer that went on writing into a copy already rotated away after the
 * checkpoint (logrotate's window between its rename and the writer's reopen), the copy deleted
 * before the restart; a let-go file deleted meanwhile is as silent, and always was.
 * A file made under the glob
 * and rotated out of it while nobody followed (app.log.1 of a new app.log, for '*.log') is in no
 * checkpoint: one born after the stopped follower's last look (`resumeLookedAt`) and named as a
 * rotated copy of a name the patterns match is read whole (issue 11).
 */
import { dirname, resolve } from 'node:path';
import type { Level } from '../../core/record.js';
import { changedWhileUnfollowed } from '../said.js';
import type { FileCheckpoint } from './checkpoint.js';
import type { DeliveryMark } from './feed.js';
import { bornRotatedSince, fileKey, holdsBytesOf, locateCheckpointed, olderFirst, rotatedAfter, safeStat } from './siblings.js';
import { findReleased, openElsewhereAt } from './released.js';
import { noteTail, type Tracked } from './tracked.js';

/**
 * The entry of a file once the hub has every record up to `seq`, undefined when it needs none (let
 * go, gone, and all of it delivered); `sending`: not yet, only asked (nothing forgotten).
 */
export function checkpointEntry(tracked: Tracked, seq: number, sending: boolean, rotated: boolean): FileCheckpoint | undefined {
  const mark = tracked.feed.delivered(seq, sending) ?? tracked.delivered;
  if (!sending) tracked.delivered = mark;
  if (tracked.fd === -1 && tracked.gone && tracked.feed.undelivered === 0) return undefined;
  // a let-go file stays in the checkpoint: a restart looks at it for growth, and reads none of it again
  const released = tracked.fd === -1 && !tracked.gone ? { released: true } : {};
  const moved = rotated ? { rotated: true, birth: tracked.birth } : {};
  return { path: tracked.name, ...mark, size: tracked.size, ...tailOf(tracked, mark), ...unreadOf(tracked, mark), ...released, ...moved };
}

/** A file nothing of which was read yet, delivered as it is now: the siblings a restart knows the copies made after from. */
function unreadOf(tracked: Tracked, mark: DeliveryMark): { siblings?: string[] } {
  const feed = tracked.feed;
  const asNow = mark.offset === 0 && mark.fp_len === 0 && mark.ino === feed.identity.ino && feed.offset === 0 && feed.undelivered === 0;
  return asNow && tracked.unread !== undefined ? { siblings: [...tracked.unread.siblings] } : {};
}

/** The fingerprint of the bytes before a mark's offset, while the file is open and still the mark's. */
function tailOf(tracked: Tracked, mark: DeliveryMark): { tail_fp?: string; tail_len?: number } {
  if (mark.ino !== tracked.feed.identity.ino) return {};
  // let go: what was taken while it was open still stands for its bytes
  if (tracked.fd === -1) return tracked.tail?.offset === mark.offset && tracked.tail.ino === mark.ino ? { tail_fp: tracked.tail.tail_fp, tail_len: tracked.tail.tail_len } : {};
  // unreadable now (an I/O error): the restart checks the first bytes only
  if (!noteTail(tracked, mark.offset, mark.ino) || tracked.tail === undefined) return {};
  return { tail_fp: tracked.tail.tail_fp, tail_len: tracked.tail.tail_len };
}

/** What a restarted follower needs of the live one to take its files up. */
export interface Resumer {
  readonly target: { system(message: string, level?: Level): unknown };
  /** follows `path` (found at `at`) from `offset` (detached: under no followed name) */
  open(path: string, offset: number, detached: boolean, at?: string): Tracked | undefined;
  /** a let-go file found again: read on when it grew, else let go again */
  openReleased(path: string, offset: number): void;
  /** the file at `path` is followed already */
  tracking(path: string): boolean;
}

/**
 * Takes up each checkpointed file where the hub's lines end; the names the entries stand for. A
 * checkpoint may hold several files of one name (rotated while followed, not let go yet): each is
 * opened once, at its own offset, and none of them counts as "rotated after" another (it would be
 * read again from its start).
 */
export function resumeFiles(
  resume: readonly FileCheckpoint[],
  resumeLookedAt: number | undefined,
  patterns: readonly string[],
  follower: Resumer,
): Set<string> {
  const names = new Set<string>();
  const entries = resume.map((entry) => {
    const name = resolve(entry.path);
    return { entry, name, found: locateCheckpointed(name, entry) };
  });
  const claimed = new Set(entries.flatMap(({ found }) => (found === undefined ? [] : [fileKey(safeStat(found))])));
  // Files rotated while nobody followed come after the newest file a name's entries stand for,
  // and only when none of them is still under the name: a file the checkpoint knows under its
  // name was followed through every rotation before it (a copytruncate's copy made then was read
  // then, and read whole again it would repeat lines).
  const newest = new Map<string, string | undefined>();
  for (const { entry, name, found } of entries) {
    if (found === undefined || entry.released) continue;
    const current = newest.get(name);
    if (found === name || current === name) newest.set(name, name);
    else if (current === undefined || newer(found, current)) newest.set(name, found);
  }
  for (const { entry, name, found } of entries) {
    names.add(name);
    // let go before the stop: looked at for growth again; gone meanwhile (deleted by the rotation)
    // is nothing to say, unless lines of it were still waiting for the hub (then below)
    if (entry.released && (found !== undefined || entry.size <= entry.offset)) {
      if (found !== undefined && !follower.tracking(found)) follower.openReleased(found, entry.offset);
      continue;
    }
    // deleted, and its writer still has it open: read on through the writer's descriptor
    const held = found === undefined ? openDeleted(entry) : undefined;
    if (held !== undefined && !follower.tracking(held)) {
      follower.open(name, entry.offset, true, held);
      continue;
    }
    if (found === undefined) {
      // rotated away, read to its end, and deleted by a later rotation: nothing of it was missed
      if (!droppedByRotation(name, entry)) {
        follower.target.system(changedWhileUnfollowed(name, entry.offset, entry.size - entry.offset), 'WARNING');
      }
      continue;
    }
    if (follower.tracking(found)) continue;
    const underName = found === name;
    const tracked = follower.open(found, entry.offset, !underName);
    // empty when it stopped: the copies made since are read before it (mtime -1: look at once)
    if (tracked !== undefined && underName && entry.siblings !== undefined && entry.offset === 0) {
      tracked.unread = { mtimeMs: -1, siblings: new Set(entry.siblings) };
    }
    if (underName || newest.get(name) !== found) continue;
    for (const later of rotatedAfter(name, found)) {
      if (!claimed.has(fileKey(safeStat(later))) && !follower.tracking(later)) follower.open(later, 0, true);
    }
  }
  // made and rotated out of the glob while nobody followed: no entry names them
  if (resumeLookedAt === undefined) return names;
  for (const path of bornRotatedSince(patterns, resumeLookedAt)) {
    if (!claimed.has(fileKey(safeStat(path))) && !follower.tracking(path)) follower.open(path, 0, true);
  }
  return names;
}

/**
 * A checkpointed file not found (locateCheckpointed) whose going cost nothing: no longer the live
 * file at the checkpoint, read to its end then, and gone now (see the header).
 */
function droppedByRotation(name: string, entry: FileCheckpoint): boolean {
  if (entry.rotated !== true || entry.size > entry.offset) return false;
  // gone: no file in its directory on its inode born when it was (a file born at another time is a
  // new one on the freed inode); where no birth time is kept, its inode alone (no fingerprint: fp_len 0)
  return findReleased({ ...entry, fp_len: 0 }, { at: undefined, birth: entry.birth ?? 0 }, [dirname(name)]) === undefined;
}

/** The copy at `path` was rotated after the one at `than` (olderFirst: a copy stamped alike is told by its birth, then its name). */
function newer(path: string, than: string): boolean {
  const [a, b] = [safeStat(path), safeStat(than)];
  return a !== undefined && (b === undefined || olderFirst({ path: than, stats: b }, { path, stats: a }) < 0);
}

/**
 * A checkpointed file deleted while nobody followed it that another process (its writer) still has
 * open: the path of that descriptor (/proc/PID/fd/N, Linux) when it holds the entry's bytes.
 */
function openDeleted(entry: FileCheckpoint): string | undefined {
  if (entry.fp_len === 0) return undefined; // nothing to tell it by but its inode number
  const at = openElsewhereAt(entry);
  const stats = at === undefined ? undefined : safeStat(at);
  if (at === undefined || stats === undefined || stats.size < entry.offset) return undefined;
  return holdsBytesOf(at, stats, entry, 0, Buffer.alloc(0)) ? at : undefined;
}
