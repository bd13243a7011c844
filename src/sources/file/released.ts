/**
 * Files a follower let go: renamed or moved away from every followed name, read to their end and
 * quiet for a long time (FileFollower releaseAfterMs), their descriptor closed so that a follower
 * of a log rotated daily for a year does not hold 365 files open. Its writer may still have it
 * open (a training loop that logs once an hour), so a let-go file is still looked at, by name:
 * where it was when it was let go (the descriptor's own path, /proc/self/fd), else by its inode in
 * the directories it was seen in. One found grown is opened again and read on from its offset; one
 * no longer found (deleted, moved to another directory) is forgotten. How filebeat's close_inactive
 * (5 min by default) and its rescans do it; `tail -F` and fluent-bit's rotate_wait (5 s) let such a
 * file go for good, and what is written to it later is lost without a word.
 */
import { fstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { fingerprintPath } from './checkpoint.js';
import type { FileIdentity } from './feed.js';
import { safeStat } from './siblings.js';

const MAX_KEPT_OPEN = 64; // files no longer under their name held open at once (descriptors)
const MAX_RELEASED = 100; // let-go files looked at for growth (each is in every checkpoint); the oldest let go is forgotten first
export const RELEASED_LOOK_MS = 1000; // let-go files are looked at this often at most (a stat each)

/** What is known of a let-go file, to find it again. */
export interface Release {
  /** where it was last seen (undefined: not known) */
  at: string | undefined;
  /** its birth time (0: the file system keeps none), telling it from a new file on its freed inode */
  birth: number;
  /** when it was let go (ms) */
  since: number;
}

/** The path an open descriptor's file has now (Linux), or undefined (deleted, or no /proc). */
export function pathOfFd(fd: number): string | undefined {
  try {
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    return path.startsWith('/') && !path.endsWith(' (deleted)') ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Is the file at `path` (stats) the let-go file? The same device and inode, and the same birth
 * time where both have one; else the same first bytes (an inode is handed out again once freed).
 */
export function isReleased(identity: FileIdentity, release: Pick<Release, 'birth'>, stats: Stats, path: string): boolean {
  if (stats.dev !== identity.dev || stats.ino !== identity.ino || !stats.isFile()) return false;
  if (release.birth > 0 && stats.birthtimeMs > 0) return release.birth === stats.birthtimeMs;
  return identity.fp_len === 0 || fingerprintPath(path, identity.fp_len)?.fp === identity.fp;
}

/** Where the let-go file is now: where it was seen last, else in one of `dirs`; undefined when it is in none. */
export function findReleased(identity: FileIdentity, release: Pick<Release, 'at' | 'birth'>, dirs: readonly string[]): string | undefined {
  const last = release.at === undefined ? undefined : safeStat(release.at);
  if (release.at !== undefined && last !== undefined && isReleased(identity, release, last, release.at)) return release.at;
  const seen = new Set<string>();
  for (const dir of [...(release.at === undefined ? [] : [dirname(release.at)]), ...dirs]) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      const stats = safeStat(path);
      if (stats !== undefined && isReleased(identity, release, stats, path)) return path;
    }
  }
  return undefined;
}

/** What of a followed file (FileFollower's) is held open, let go, or forgotten. */
export interface Held {
  name: string;
  /** -1: let go */
  fd: number;
  feed: { lastGrowthAt: number; offset: number; identity: FileIdentity };
  released?: Release;
  /** let go and not to be found any more */
  gone?: boolean;
  /** deleted, and last seen held open by another process then (ms; quietFor) */
  heldElsewhereAt?: number;
}

/**
 * An open file no name points to, quiet for `releaseAfterMs`, or for `deletedReleaseAfterMs` once
 * deleted too. A deleted file another process still holds open (its writer: a job whose log was
 * `rm`ed) is not let go however quiet: nobody could read what it writes next (issue 11: its lines
 * were lost without a word), and its space is not freed while the writer holds it anyway. Who holds
 * it is looked up in /proc at most once per `deletedReleaseAfterMs`.
 */
export function quietFor(held: Held, releaseAfterMs: number, deletedReleaseAfterMs: number, now = Date.now()): boolean {
  const quiet = now - held.feed.lastGrowthAt;
  if (quiet < Math.min(releaseAfterMs, deletedReleaseAfterMs)) return false;
  const stats = fstatSync(held.fd);
  if (stats.nlink > 0) return quiet >= releaseAfterMs;
  if (held.heldElsewhereAt !== undefined && now - held.heldElsewhereAt < deletedReleaseAfterMs) return false;
  if (!openElsewhere(stats)) return true;
  held.heldElsewhereAt = now;
  return false;
}

/**
 * Another process has the deleted file open (Linux: its /proc/PID/fd links end in " (deleted)" and
 * stat to the same inode). False where /proc cannot tell (no /proc, another user's processes): the
 * file is let go as before.
 */
export function openElsewhere(file: Pick<Stats, 'dev' | 'ino'>): boolean {
  return openElsewhereAt(file) !== undefined;
}

/** openElsewhere, giving the other process's descriptor (/proc/PID/fd/N: opening it opens the file). */
export function openElsewhereAt(file: Pick<Stats, 'dev' | 'ino'>): string | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && entry !== String(process.pid));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile, or not ours to look at
    }
    for (const fd of fds) {
      const link = `/proc/${pid}/fd/${fd}`;
      try {
        if (!readlinkSync(link).endsWith(' (deleted)')) continue;
        const stats = statSync(link);
        if (stats.ino === file.ino && stats.dev === file.dev) return link;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/**
 * The open files beyond MAX_KEPT_OPEN (the quietest), to let go; the let-go files beyond
 * MAX_RELEASED (the oldest let go) are marked gone: no longer looked at, nor checkpointed.
 */
export function overLimits<T extends Held>(detached: readonly T[]): T[] {
  const open = detached.filter((held) => held.fd !== -1).sort((a, b) => a.feed.lastGrowthAt - b.feed.lastGrowthAt);
  const released = detached.filter((held) => held.fd === -1 && !held.gone).sort((a, b) => (a.released?.since ?? 0) - (b.released?.since ?? 0));
  for (const held of released.slice(0, Math.max(0, released.length - MAX_RELEASED))) held.gone = true;
  return open.slice(0, Math.max(0, open.length - MAX_KEPT_OPEN));
}

/**
 * The let-go files whose size is not where they were read to (grown, or truncated), with where
 * they are now; each found gets that place noted, one not found any more is marked gone.
 */
export function grownReleased<T extends Held>(detached: readonly T[]): { tracked: T; path: string }[] {
  const grown: { tracked: T; path: string }[] = [];
  for (const held of detached) {
    if (held.fd !== -1 || held.gone || held.released === undefined) continue;
    const path = findReleased(held.feed.identity, held.released, [dirname(held.name)]);
    if (path === undefined) {
      held.gone = true;
      continue;
    }
    held.released.at = path;
    if ((safeStat(path)?.size ?? 0) !== held.feed.offset) grown.push({ tracked: held, path });
  }
  return grown;
}
