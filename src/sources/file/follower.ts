/**
 * FileFollower: files (paths or globs) as they grow → a RecordBuilder, surviving rotation.
 *
 * Each file is held open and read from a byte offset to its end, on an fs.watch event of its
 * directory or every `pollMs` (watch events get lost, or never come on some filesystems). What the
 * name points to is checked on each pass:
 * - another inode, or none (rename + create, delete + recreate, moved out of the glob): the old
 *   file stays open and is read to its end while its writer may still write, and let go once it
 *   has not grown for `releaseAfterMs` (5 min: a loop that logs once a minute keeps it), or for
 *   `deletedReleaseAfterMs` once it is deleted (its space is freed when nobody holds it); at most
 *   64 such files are held (released.ts), the quietest let go first. A let-go file is still looked at
 *   by name (released.ts) and read on from its offset when it grows again; the new file is read
 *   from its start;
 * - the same inode, shorter than what was read, or with other first bytes (copytruncate, truncate
 *   and write again): the bytes written between the last read and the truncation are looked for
 *   in a sibling whose first bytes are the old file's (logrotate's copy); when none has them the
 *   loss is said in a `system` line. Then the file is read from its start.
 * - a file nothing of which was read yet (empty at every look) has no first bytes to compare: a
 *   copytruncate between two looks shows only as a new rotated sibling, read whole before it.
 * A restarted follower finds each checkpointed file by device, inode and fingerprint, under its
 * name or a sibling's (rotated while nobody was following), and goes on from its offset, then
 * reads whole the siblings rotated after it (rotated twice meanwhile); a file it cannot find any
 * more costs a `system` line saying how many bytes could not be read. A file made under the glob
 * and rotated out of it while nobody followed (app.log.1 of a new app.log, for '*.log') is in no
 * checkpoint: one born after the stopped follower's last look (`resumeLookedAt`) and named as a
 * rotated copy of a name the patterns match is read whole (issue 11).
 */
import { closeSync, fstatSync, openSync, readSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import type { Level } from '../../core/record.js';
import { bytesBeforeFd, FINGERPRINT_BYTES, fingerprintFd, tailFingerprintFd, type FileCheckpoint } from './checkpoint.js';
import { LineFeed, TAIL_BYTES, type ByteSink, type DeliveryMark, type FileIdentity } from './feed.js';
import { expandGlob, globBase } from './glob.js';
import { readRange, readWhole } from './copies.js';
import { grownReleased, isReleased, overLimits, pathOfFd, quietFor, RELEASED_LOOK_MS, type Release } from './released.js';
import { bornRotatedSince, fileKey, findCopy, locateCheckpointed, rotatedAfter, rotatedKeys, rotatedNew, rotatedSince, safeStat, siblingKey } from './siblings.js';

/** The part of a RecordBuilder a follower feeds. */
export interface LineTarget {
  readonly lastSeq: number;
  source(source: 'file', attrs: Record<string, unknown>): ByteSink;
  system(message: string, level?: Level): unknown;
}

export interface FileFollowerOptions {
  patterns: readonly string[];
  target: LineTarget;
  /** files already there at start, with no checkpoint: read from their end instead of their start */
  fromEnd?: boolean;
  /** a partial last line is a line once the file has not grown for this long */
  partialTimeoutMs?: number;
  pollMs?: number;
  /** a file no longer under its name is let go once it has not grown for this long */
  releaseAfterMs?: number;
  /** … and once it is deleted too (no name left: nobody else can read it, its space waits for us) */
  deletedReleaseAfterMs?: number;
  /** where a restarted follower takes up */
  resume?: readonly FileCheckpoint[];
  /** when the follower that wrote `resume` last looked for files (ms; FileFollower.lookedAt) */
  resumeLookedAt?: number;
  maxLineBytes?: number;
  /** the lines read wait somewhere bounded (the shipper's memory): while it says so, no more is read */
  busy?: () => boolean;
}

interface Tracked {
  name: string;
  fd: number;
  feed: LineFeed;
  /** the file's size at the last look */
  size: number;
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
}

const READ_BYTES = 1024 * 1024; // 1 MiB a read
const PASS_BYTES = 16 * 1024 * 1024; // a pass reads at most this much of a file, so the shipper gets its turn
export const BUSY_RETRY_MS = 10; // the target was busy: look again this soon
export const RELEASE_AFTER_MS = 5 * 60_000; // filebeat's close_inactive default

export class FileFollower {
  private readonly active = new Map<string, Tracked>();
  private detached: Tracked[] = [];
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly resumedNames = new Set<string>();
  /** the patterns that matched a file at least once (see neverMatched) */
  private readonly patternsMatched = new Set<string>();
  private startedAt = Date.now();
  private looked: number | undefined;
  private releasedLookedAt = 0;
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES);
  private readonly o: Required<Omit<FileFollowerOptions, 'resume' | 'resumeLookedAt' | 'maxLineBytes' | 'busy'>> &
    Pick<FileFollowerOptions, 'resume' | 'resumeLookedAt' | 'maxLineBytes' | 'busy'>;

  constructor(options: FileFollowerOptions) {
    this.o = { fromEnd: false, partialTimeoutMs: 1000, pollMs: 250, releaseAfterMs: RELEASE_AFTER_MS, deletedReleaseAfterMs: 5000, ...options };
  }

  start(): void {
    this.resume();
    this.discover(this.o.fromEnd);
    this.pass();
    const dirs = new Set(this.o.patterns.map((pattern) => globBase(pattern)));
    for (const dir of dirs) {
      try {
        this.watchers.push(watch(dir, { persistent: false }, () => this.passSoon()));
      } catch {
        // no such directory yet, or no inotify: polling finds it
      }
    }
    this.timer = setInterval(() => this.pass(), this.o.pollMs);
  }

  /**
   * Reads every file to its end; with `flush`, partial last lines become lines too. The files
   * stay open (delivered() fingerprints the bytes before each offset for the last checkpoint)
   * until close().
   */
  stop(flush: boolean): void {
    if (this.stopped) return;
    while (this.pass(true)) {
      // a big file: read on to its end
    }
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    for (const watcher of this.watchers) watcher.close();
    for (const tracked of [...this.detached, ...this.active.values()]) {
      if (tracked.fd === -1) continue; // let go already
      // a partial line begun before a copytruncate cannot be read again by a restart: shipped now
      if (flush || tracked.feed.heldBeforeStart) tracked.feed.flush();
    }
  }

  /** Lets every file go (after stop()). */
  close(): void {
    this.stop(false);
    for (const tracked of [...this.detached, ...this.active.values()]) {
      if (tracked.fd === -1) continue;
      closeSync(tracked.fd);
      tracked.fd = -1;
    }
  }

  /**
   * When the patterns were last looked at (ms, before the look): a file they matched then is
   * followed, one made later may not be seen yet. A checkpoint keeps it (resumeLookedAt).
   */
  get lookedAt(): number | undefined {
    return this.looked;
  }

  /** When a file last grew (ms), or when following started. */
  get lastGrowthAt(): number {
    let last = this.startedAt;
    for (const tracked of [...this.detached, ...this.active.values()]) last = Math.max(last, tracked.feed.lastGrowthAt);
    return last;
  }

  /** Where each file stands once the hub has every record up to `seq`; `sending`: not yet, only asked (nothing forgotten). */
  delivered(seq: number, sending = false): FileCheckpoint[] {
    const files: FileCheckpoint[] = [];
    for (const tracked of [...this.detached, ...this.active.values()]) {
      const mark = tracked.feed.delivered(seq, sending) ?? tracked.delivered;
      if (!sending) tracked.delivered = mark;
      if (tracked.fd === -1 && tracked.gone && tracked.feed.undelivered === 0) continue;
      // a let-go file stays in the checkpoint: a restart looks at it for growth, and reads none of it again
      const released = tracked.fd === -1 && !tracked.gone ? { released: true } : {};
      files.push({ path: tracked.name, ...mark, size: tracked.size, ...this.tailOf(tracked, mark), ...this.unreadOf(tracked, mark), ...released });
    }
    // a file gone and fully delivered needs no place in the checkpoint any more
    if (!sending) this.detached = this.detached.filter((tracked) => tracked.fd !== -1 || !tracked.gone || tracked.feed.undelivered > 0);
    return files;
  }

  /** A file nothing of which was read yet, delivered as it is now: the siblings a restart knows the copies made after from. */
  private unreadOf(tracked: Tracked, mark: DeliveryMark): { siblings?: string[] } {
    const feed = tracked.feed;
    const asNow = mark.offset === 0 && mark.fp_len === 0 && mark.ino === feed.identity.ino && feed.offset === 0 && feed.undelivered === 0;
    return asNow && tracked.unread !== undefined ? { siblings: [...tracked.unread.siblings] } : {};
  }

  /** The fingerprint of the bytes before a mark's offset, while the file is open and still the mark's. */
  private tailOf(tracked: Tracked, mark: DeliveryMark): { tail_fp?: string; tail_len?: number } {
    if (mark.ino !== tracked.feed.identity.ino) return {};
    // let go: what was taken while it was open still stands for its bytes
    if (tracked.fd === -1) return tracked.tail?.offset === mark.offset && tracked.tail.ino === mark.ino ? { tail_fp: tracked.tail.tail_fp, tail_len: tracked.tail.tail_len } : {};
    if (tracked.tail?.offset !== mark.offset || tracked.tail.ino !== mark.ino) {
      try {
        tracked.tail = { offset: mark.offset, ino: mark.ino, ...tailFingerprintFd(tracked.fd, mark.offset) };
      } catch {
        return {}; // unreadable now (an I/O error): the restart checks the first bytes only
      }
    }
    return { tail_fp: tracked.tail.tail_fp, tail_len: tracked.tail.tail_len };
  }

  /**
   * One look at every file: discovers, reads to the end, notices rotation. True when a file has
   * more. While the target is busy nothing is read (the next look comes in BUSY_RETRY_MS), unless
   * `all`: stopping reads every file to its end.
   */
  pass(all = false): boolean {
    if (this.stopped) return false;
    if (!all && this.o.busy?.()) {
      this.passSoon(BUSY_RETRY_MS);
      return true;
    }
    let more = false;
    const now = Date.now();
    if (all || now - this.releasedLookedAt >= RELEASED_LOOK_MS) {
      this.releasedLookedAt = now;
      // grown (or shrunk) since: read on from its offset by this pass
      for (const { tracked, path } of grownReleased(this.detached)) this.reopen(tracked, path);
    }
    for (const tracked of this.detached) {
      if (tracked.fd === -1) continue;
      const unread = this.read(tracked, all);
      more = unread || more;
      // only a file read to its end can be idle
      if (!unread) tracked.feed.flushIfIdle(this.o.partialTimeoutMs);
      if (!unread && quietFor(tracked, this.o.releaseAfterMs, this.o.deletedReleaseAfterMs)) this.release(tracked);
    }
    for (const tracked of overLimits(this.detached)) this.release(tracked);
    for (const tracked of [...this.active.values()]) {
      const unread = this.read(tracked, all);
      more = unread || more;
      this.checkName(tracked);
      if (!unread) tracked.feed.flushIfIdle(this.o.partialTimeoutMs);
    }
    const known = this.active.size;
    this.discover(false);
    // a file found now is read at once (stop() passes until nothing is left: a file the command
    // made just before it exited would be closed unread)
    if (this.active.size > known) more = true;
    if (more) this.passSoon();
    return more;
  }

  private passSoon(delayMs = 0): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.pass();
    }, delayMs);
  }

  /** Reads what the file has past the offset (while the target is not busy, unless `all`); true when there is more than one pass may read. */
  private read(tracked: Tracked, all: boolean): boolean {
    const feed = tracked.feed;
    let stats = fstatSync(tracked.fd);
    // nothing read of it yet: the copies made since the last look hold its first lines, read before
    // a truncation is judged (the copy a truncation finds is one of them: it would come twice)
    this.lookUnread(tracked, stats);
    if (stats.size < feed.offset || (stats.size !== tracked.size && this.rewritten(tracked))) {
      this.truncated(tracked, stats);
      stats = fstatSync(tracked.fd);
      this.lookUnread(tracked, stats); // started over: the siblings now are the ones known
    }
    tracked.size = stats.size;
    if (feed.identity.fp_len < FINGERPRINT_BYTES && stats.size > feed.identity.fp_len) {
      feed.identity = { ...feed.identity, ...fingerprintFd(tracked.fd) };
    }
    let budget = PASS_BYTES;
    // a pass also ends when the target fills up (checked after each read): what is left waits in the file
    while (budget > 0 && (all || !this.o.busy?.())) {
      const n = readSync(tracked.fd, this.buffer, 0, READ_BYTES, feed.offset);
      if (n === 0) return false;
      feed.take(this.buffer.subarray(0, n));
      budget -= n;
    }
    return true;
  }

  /** Reads the copies of a file nothing of which was read yet (readCopiesOfUnread); once something was, it is no such file. */
  private lookUnread(tracked: Tracked, stats: Stats): void {
    const feed = tracked.feed;
    if (!tracked.detached && feed.offset === 0 && (feed.identity.fp_len === 0 || tracked.unread !== undefined)) this.readCopiesOfUnread(tracked, stats);
    else tracked.unread = undefined;
  }

  /** The first bytes are not the ones fingerprinted: the file was truncated and written again. */
  private rewritten(tracked: Tracked): boolean {
    const { fp, fp_len } = tracked.feed.identity;
    return fp_len > 0 && fingerprintFd(tracked.fd, fp_len).fp !== fp;
  }

  private truncated(tracked: Tracked, stats: Stats): void {
    const feed = tracked.feed;
    // the siblings before the copies are looked for: one made later (the follower stalled while it
    // read them, and the file was copied and truncated again) holds lines of the file started over
    const known = rotatedKeys(tracked.name);
    const copy = findCopy(tracked.name, feed.identity, feed.offset, feed.tail, stats.ino);
    const read: string[] = [];
    if (copy !== undefined) {
      readRange(copy, feed, this.buffer);
      read.push(copy, ...this.readLaterCopies(tracked.name, copy, feed));
    } else if (tracked.skipped > 0 && feed.offset === tracked.skipped) {
      // nothing read yet of a file opened at its end (`tee` starting it over): nothing lost
    } else {
      this.o.target.system(
        `${tracked.name}: truncated; lines written after byte ${feed.offset} before the truncation could not be read (no rotated copy found)`,
        'WARNING',
      );
    }
    feed.restart({ dev: stats.dev, ino: stats.ino, fp: '', fp_len: 0 }, 0, copy !== undefined);
    // started over, nothing of it read yet: the copies made since `known` come before it (mtime -1: looked at now)
    for (const path of read) known.add(siblingKey(safeStat(path)));
    tracked.unread = { mtimeMs: -1, siblings: known };
  }

  /**
   * Copied and truncated more than once between two looks (a follower stalled on a loaded machine,
   * a laptop asleep): the copies made after the one found hold what came between, oldest first.
   * Read whole through the same feed, so a line cut by a copytruncate is joined across copies.
   */
  private readLaterCopies(name: string, copy: string, feed: LineFeed): string[] {
    const later = rotatedAfter(name, copy).filter((path) => !this.tracking(path));
    readWhole(later, feed, this.buffer);
    return later;
  }

  /**
   * An empty file, copied and truncated before its first read (a stalled follower, copytruncate
   * right after the file was made): its size and first bytes say nothing, its lines are in the
   * rotated siblings made since the last look. Read whole, oldest first, through the same feed.
   */
  private readCopiesOfUnread(tracked: Tracked, stats: Stats): void {
    const last = tracked.unread;
    if (last !== undefined && last.mtimeMs === stats.mtimeMs && stats.size === 0) return; // untouched since
    // one listing for the copies and the siblings known from now on (rotatedNew)
    const { added, keys } = rotatedNew(tracked.name, last?.siblings ?? new Set());
    // a copy the patterns match (app.log* ) is a file followed on its own: not read twice
    const copies = last === undefined ? [] : added.filter((copy) => !this.tracking(copy) && !this.matched(copy));
    tracked.unread = { mtimeMs: stats.mtimeMs, siblings: keys };
    if (copies.length === 0) return;
    readWhole(copies, tracked.feed, this.buffer);
    tracked.feed.restart({ dev: stats.dev, ino: stats.ino, fp: '', fp_len: 0 }, 0, true);
  }

  private checkName(tracked: Tracked): void {
    const stats = safeStat(tracked.name);
    if (stats && stats.ino === tracked.feed.identity.ino && stats.dev === tracked.feed.identity.dev) return;
    // renamed, deleted or replaced: read on by the descriptor until its writer is done with it
    this.active.delete(tracked.name);
    tracked.detached = true;
    this.detached.push(tracked);
    // rotated more than once between two looks (a stalled follower): the files rotated after this
    // one, before the one under the name now, are read whole after it (a file deleted before any
    // look cannot be read by anyone)
    for (const later of rotatedSince(tracked.name, fstatSync(tracked.fd))) {
      if (!this.tracking(later)) this.open(later, 0, true);
    }
  }

  /** Closes the file, remembering where it is so that its growth is seen (released.ts). */
  private release(tracked: Tracked, flush = true): void {
    if (flush) tracked.feed.flush();
    const stats = fstatSync(tracked.fd);
    tracked.released = { at: pathOfFd(tracked.fd), birth: stats.birthtimeMs, since: Date.now() };
    // the bytes before where it is read to, for the checkpoints written while it is closed (tailOf)
    const offset = tracked.feed.offset;
    if (tracked.tail?.offset !== offset || tracked.tail.ino !== stats.ino) {
      try {
        tracked.tail = { offset, ino: stats.ino, ...tailFingerprintFd(tracked.fd, offset) };
      } catch {
        tracked.tail = undefined;
      }
    }
    // deleted: nothing but its writer can reach it now
    tracked.gone = stats.nlink === 0;
    closeSync(tracked.fd);
    tracked.fd = -1;
  }

  /** Opens a let-go file again at `path`; false when it is not the same file there any more. */
  private reopen(tracked: Tracked, path: string): boolean {
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

  /** The patterns no file ever matched (a typo in `runlog run --follow`, a file the job never wrote). */
  neverMatched(): string[] {
    return this.o.patterns.filter((pattern) => !this.patternsMatched.has(pattern));
  }

  /** Opens the files the patterns match that are not followed yet. */
  private discover(fromEnd: boolean): void {
    this.looked = Date.now();
    for (const pattern of this.o.patterns) {
      for (const path of expandGlob(pattern)) {
        if (this.active.has(path)) continue;
        const stats = safeStat(path);
        if (!stats?.isFile()) continue;
        this.patternsMatched.add(pattern);
        // a rotated file still under the glob (app.log → app.log.1 for 'logs/*') is the same file
        const moved = this.detached.find((t) => this.isFile(t, stats, path));
        if (moved && (moved.fd !== -1 || this.reopen(moved, path))) {
          this.detached = this.detached.filter((t) => t !== moved);
          moved.name = path;
          this.active.set(path, moved);
          continue;
        }
        if ([...this.active.values()].some((t) => t.feed.identity.ino === stats.ino && t.feed.identity.dev === stats.dev)) continue;
        // a name the checkpoint knew whose file changed is new content: from its start
        const atEnd = fromEnd && !this.resumedNames.has(path);
        this.open(path, atEnd ? stats.size : 0, false, atEnd);
      }
    }
  }

  private open(name: string, offset: number, detached: boolean, atEnd = false): Tracked | undefined {
    // read from its start: the rotated siblings there before the file is opened, so that a copy made
    // after the first look at it is new however long the follower stalls between the open and the
    // look at the directory (a sibling noted after the open may hold lines written after it: lost)
    const siblings = offset === 0 && !detached ? rotatedKeys(name) : undefined;
    let fd: number;
    try {
      fd = openSync(name, 'r');
    } catch {
      return undefined;
    }
    const stats = fstatSync(fd);
    const identity: FileIdentity = { dev: stats.dev, ino: stats.ino, ...fingerprintFd(fd) };
    const source = this.o.target.source('file', { path: name });
    // the bytes before a resumed offset: a truncation before the next read still finds the real copy
    const tail = bytesBeforeFd(fd, offset, TAIL_BYTES);
    // a checkpoint inside a read counts that read's lines again in the file (see LineFeed.exactMark)
    const reread = (at: number, length: number) => (tracked.fd === -1 ? undefined : readAt(tracked.fd, at, length));
    const feed = new LineFeed(source, () => this.o.target.lastSeq, identity, offset, this.o.maxLineBytes, tail, reread);
    const skipped = atEnd ? offset : 0;
    const tracked: Tracked = { name, fd, feed, size: stats.size, detached, delivered: { ...identity, seq: this.o.target.lastSeq, offset }, skipped };
    // nothing read yet: a copy made before the first read is told from an older one by being new.
    // Not only an empty file: one stalled after the open may have been copied and truncated before
    // its first bytes were looked at (mtime -1: the first read looks at the siblings)
    if (siblings !== undefined) tracked.unread = { mtimeMs: -1, siblings };
    if (detached) this.detached.push(tracked);
    else this.active.set(name, tracked);
    return tracked;
  }

  /**
   * Takes up each checkpointed file where the hub's lines end. A checkpoint may hold several files
   * of one name (rotated while followed, not let go yet): each is opened once, at its own offset,
   * and none of them counts as "rotated after" another (it would be read again from its start).
   */
  private resume(): void {
    const entries = (this.o.resume ?? []).map((entry) => {
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
      else if (current === undefined || (safeStat(found)?.mtimeMs ?? 0) > (safeStat(current)?.mtimeMs ?? 0)) newest.set(name, found);
    }
    for (const { entry, name, found } of entries) {
      this.resumedNames.add(name);
      // let go before the stop: looked at for growth again; gone meanwhile (deleted by the rotation)
      // is nothing to say, unless lines of it were still waiting for the hub (then below)
      if (entry.released && (found !== undefined || entry.size <= entry.offset)) {
        if (found !== undefined && !this.tracking(found)) this.openReleased(found, entry.offset);
        continue;
      }
      if (found === undefined) {
        const lost = entry.size - entry.offset;
        const what = lost > 0 ? `${lost} bytes after byte ${entry.offset}, and whatever was written after them,` : `what was written after byte ${entry.offset}`;
        this.o.target.system(`${name}: changed while nobody followed it (truncated, replaced, deleted, or moved out of its directory): ${what} could not be read`, 'WARNING');
        continue;
      }
      if (this.tracking(found)) continue;
      const underName = found === name;
      const tracked = this.open(found, entry.offset, !underName);
      // empty when it stopped: the copies made since are read before it (mtime -1: look at once)
      if (tracked !== undefined && underName && entry.siblings !== undefined && entry.offset === 0) {
        tracked.unread = { mtimeMs: -1, siblings: new Set(entry.siblings) };
      }
      if (underName || newest.get(name) !== found) continue;
      for (const later of rotatedAfter(name, found)) {
        if (!claimed.has(fileKey(safeStat(later))) && !this.tracking(later)) this.open(later, 0, true);
      }
    }
    // made and rotated out of the glob while nobody followed: no entry names them
    if (this.o.resumeLookedAt === undefined) return;
    for (const path of bornRotatedSince(this.o.patterns, this.o.resumeLookedAt)) {
      if (!claimed.has(fileKey(safeStat(path))) && !this.tracking(path)) this.open(path, 0, true);
    }
  }

  /** A let-go file of a checkpoint, found at `path`: read on when it grew meanwhile, else let go again. */
  private openReleased(path: string, offset: number): void {
    const tracked = this.open(path, offset, true);
    if (tracked !== undefined && fstatSync(tracked.fd).size === offset) this.release(tracked, false);
  }

  /** The tracked file (open, or let go and still looked at) is the one at `path`. */
  private isFile(tracked: Tracked, stats: Stats, path: string): boolean {
    if (tracked.fd !== -1) return tracked.feed.identity.ino === stats.ino && tracked.feed.identity.dev === stats.dev;
    return !tracked.gone && tracked.released !== undefined && isReleased(tracked.feed.identity, tracked.released, stats, path);
  }

  /** A pattern names the file at `path` (discover() follows it as a file of its own). */
  private matched(path: string): boolean {
    return this.o.patterns.some((pattern) => expandGlob(pattern).includes(path));
  }

  /** The file at `path` is open already (under any name), or let go and looked at (read on when it grows). */
  private tracking(path: string): boolean {
    const stats = safeStat(path);
    if (stats === undefined) return false;
    return [...this.detached, ...this.active.values()].some((tracked) => this.isFile(tracked, stats, path));
  }
}

/** The bytes of an open file at [offset, offset + length); undefined when they cannot all be read (shorter now, an I/O error). */
function readAt(fd: number, offset: number, length: number): Buffer | undefined {
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
