/**
 * FileFollower: files (paths or globs) as they grow → a RecordBuilder, surviving rotation.
 *
 * Each file is held open and read from a byte offset to its end, on an fs.watch event of its
 * directory or every `pollMs` (watch events get lost, or never come on some filesystems). What the
 * name points to is checked on each pass:
 * - another inode, or none (rename + create, delete + recreate, moved out of the glob): the old
 *   file stays open and is read to its end while its writer may still write, and let go once it
 *   has not grown for `releaseAfterMs` (5 min: a loop that logs once a minute keeps it), or for
 *   `deletedReleaseAfterMs` once it is deleted (its space is freed when nobody holds it) and no
 *   other process (its writer) holds it open; at most
 *   64 such files are held (released.ts), the quietest let go first. A let-go file is still looked at
 *   by name (released.ts) and read on from its offset when it grows again; the new file is read
 *   from its start;
 * - the same inode, shorter than what was read, or with other first bytes (copytruncate, truncate
 *   and write again): the bytes written before the truncation are read from logrotate's copy, or
 *   their loss is said in a `system` line; then the file is read from its start (truncation.ts).
 *   A copy the patterns match too (app.log.1 under app.log*) holds bytes read through the file:
 *   not followed while it is one, and from its end once read through (copyOfFollowed).
 * What a follower holds of each file and how it lets one go is tracked.ts; what the checkpoint
 * keeps of it, and how a restarted follower takes the checkpoint up (what a file gone meanwhile
 * costs: a `system` line, unless it was a rotated copy read to its end), checkpointed.ts.
 * On disk: nothing of the follower's own; the checkpoint is written by its caller (delivered()
 * gives the entries). A crash closes every file: a restart takes up from the last checkpoint and
 * reads again what came after it (the hub ignores a seq it has).
 */
import { closeSync, fstatSync, readSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkpointEntry, resumeFiles, type Resumer } from './checkpointed.js';
import { FINGERPRINT_BYTES, fingerprintFd, fingerprintPath, type FileCheckpoint } from './checkpoint.js';
import { expandGlob, globBase } from './glob.js';
import { grownReleased, overLimits, quietFor, RELEASED_LOOK_MS } from './released.js';
import { isRotatedName, rotatedKeys, rotatedNames, rotatedSince, safeStat, siblingKey } from './siblings.js';
import { isTrackedFile, openTracked, releaseTracked, reopenTracked, type LineTarget, type Tracked } from './tracked.js';
import { copyOfFollowed, startedOver, type CopyReader } from './truncation.js';

export type { LineTarget } from './tracked.js';

/** A copy of a followed file as last seen: how many of its first bytes were the file's, and their fingerprint. */
interface CopySeen {
  length: number;
  head: string | undefined;
  /** the followed file it is a copy of */
  of: Tracked;
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
  /** the names a checkpoint had (resumeFiles): a file found under one now is new content, read from its start */
  private resumedNames: ReadonlySet<string> = new Set();
  /** the patterns that matched a file at least once (see neverMatched) */
  private readonly patternsMatched = new Set<string>();
  private startedAt = Date.now();
  private looked: number | undefined;
  private releasedLookedAt = 0;
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES);
  /** copies a truncation read through the file started over (siblingKey): discover() follows them from their end */
  private readonly readThrough = new Set<string>();
  /** new files under the patterns that are copies of a followed one (siblingKey): not followed while they are */
  private copies = new Map<string, CopySeen>();
  /** what truncation.ts and checkpointed.ts are told of the files followed */
  private readonly files: CopyReader & Resumer;
  private readonly o: Required<Omit<FileFollowerOptions, 'resume' | 'resumeLookedAt' | 'maxLineBytes' | 'busy'>> &
    Pick<FileFollowerOptions, 'resume' | 'resumeLookedAt' | 'maxLineBytes' | 'busy'>;

  constructor(options: FileFollowerOptions) {
    this.o = { fromEnd: false, partialTimeoutMs: 1000, pollMs: 250, releaseAfterMs: RELEASE_AFTER_MS, deletedReleaseAfterMs: 5000, ...options };
    this.files = {
      buffer: this.buffer,
      target: this.o.target,
      tracking: (path) => this.tracking(path),
      matched: (path) => this.matched(path),
      open: (path, offset, detached, at) => this.open(path, offset, detached, false, at),
      openReleased: (path, offset) => this.openReleased(path, offset),
      readThrough: (path) => this.readThrough.add(siblingKey(safeStat(path))),
    };
  }

  start(): void {
    this.resumedNames = resumeFiles(this.o.resume ?? [], this.o.resumeLookedAt, this.o.patterns, this.files);
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
      const entry = checkpointEntry(tracked, seq, sending, this.rotatedAway(tracked));
      if (entry !== undefined) files.push(entry);
    }
    // a file gone and fully delivered needs no place in the checkpoint any more
    if (!sending) this.detached = this.detached.filter((tracked) => tracked.fd !== -1 || !tracked.gone || tracked.feed.undelivered > 0);
    return files;
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
      for (const { tracked, path } of grownReleased(this.detached)) reopenTracked(tracked, path);
    }
    for (const tracked of this.detached) {
      if (tracked.fd === -1) continue;
      const unread = this.read(tracked, all);
      more = unread || more;
      // only a file read to its end can be idle
      if (!unread) tracked.feed.flushIfIdle(this.o.partialTimeoutMs);
      if (!unread && quietFor(tracked, this.o.releaseAfterMs, this.o.deletedReleaseAfterMs)) releaseTracked(tracked);
    }
    for (const tracked of overLimits(this.detached)) releaseTracked(tracked);
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
    const stats = startedOver(tracked, fstatSync(tracked.fd), this.files);
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

  private checkName(tracked: Tracked): void {
    const stats = safeStat(tracked.name);
    if (stats && stats.ino === tracked.feed.identity.ino && stats.dev === tracked.feed.identity.dev) return;
    // renamed, deleted or replaced: read on by the descriptor until its writer is done with it
    this.active.delete(tracked.name);
    tracked.detached = true;
    this.detached.push(tracked);
    // rotated more than once between two looks (a stalled follower): the files rotated after this
    // one, before the one under the name now, are read whole after it (a file deleted before any
    // look cannot be read by anyone; a copy of it, cp'd before it went, holds its bytes: read by the descriptor)
    for (const later of rotatedSince(tracked.name, fstatSync(tracked.fd))) {
      if (!this.tracking(later) && !this.copies.has(siblingKey(safeStat(later)))) this.open(later, 0, true);
    }
  }

  /**
   * Another file is followed under the name `tracked` was followed by, or under the name it is a
   * rotated copy of (app.log for app.log.3, under app.log*): its writer moved on to that file
   * (`rotated` in the checkpoint, checkpointed.ts).
   */
  private rotatedAway(tracked: Tracked): boolean {
    const { dev, ino } = tracked.feed.identity;
    const [dir, base] = [dirname(tracked.name), basename(tracked.name)];
    // the names it may be a copy of (looked up, not a scan of every file: a checkpoint per batch)
    const names = [tracked.name, ...rotatedNames(base).filter((cut) => isRotatedName(cut, base)).map((cut) => join(dir, cut))];
    return names.some((name) => {
      const live = this.active.get(name);
      return live !== undefined && live !== tracked && (live.feed.identity.ino !== ino || live.feed.identity.dev !== dev);
    });
  }

  /** The patterns no file ever matched (a typo in `runlog run --follow`, a file the job never wrote). */
  neverMatched(): string[] {
    return this.o.patterns.filter((pattern) => !this.patternsMatched.has(pattern));
  }

  /** Opens the files the patterns match that are not followed yet. */
  private discover(fromEnd: boolean): void {
    this.looked = Date.now();
    const copies = new Map<string, CopySeen>();
    // path → its stats, each once however many patterns match it
    const found = new Map<string, Stats>();
    for (const pattern of this.o.patterns) {
      for (const path of expandGlob(pattern)) {
        if (this.active.has(path)) continue;
        const stats = found.get(path) ?? safeStat(path);
        if (!stats?.isFile()) continue;
        this.patternsMatched.add(pattern);
        found.set(path, stats);
      }
    }
    // a rotated file still under the glob (app.log → app.log.1 for 'logs/*') is the same file; taken
    // first, so that its last lines are read before a new file's (pass() reads in this order): the
    // new app.log's came before the rest of app.log.1 (issue 11, a follower restarted across a rotation)
    const unknown = [...found].filter(([path, stats]) => {
      const moved = this.detached.find((t) => isTrackedFile(t, stats, path));
      if (!moved || (moved.fd === -1 && !reopenTracked(moved, path))) return true;
      this.detached = this.detached.filter((t) => t !== moved);
      moved.name = path;
      this.active.set(path, moved);
      return false;
    });
    for (const [path, stats] of unknown) {
      if ([...this.active.values()].some((t) => t.feed.identity.ino === stats.ino && t.feed.identity.dev === stats.dev)) continue;
      const copy = this.copyOfFollowed(path, stats, copies);
      if (copy === 'copy' || copy === 'maybe') continue;
      if (typeof copy === 'number') {
        // no copy any more, not read through: on from the bytes that were the followed file's
        this.open(path, copy, false, true);
        continue;
      }
      // a name the checkpoint knew whose file changed is new content: from its start
      const atEnd = (fromEnd && !this.resumedNames.has(path)) || copy === 'read';
      this.open(path, atEnd ? stats.size : 0, false, atEnd);
    }
    // a copy not found now is gone
    this.readThrough.clear();
    this.copies = copies;
  }

  /**
   * A new file under the patterns that holds a followed file's bytes (a copytruncate's copy, under
   * app.log*): 'copy' while the file it copies goes on (its truncation reads what the copy has after
   * the offset), or 'maybe' (empty: cp makes it, then writes); 'read' once all of it was read
   * through that file (its truncation read it, or it started over since): followed from its end.
   * A copy no longer one (written on, or rewritten, while the file went on untruncated) and not read
   * through: the offset its own lines begin at (the bytes it held of the file were read through the
   * file; what came after them was lost, issue 11), 0 when its first bytes changed.
   * `copies` gets the copies seen now.
   */
  private copyOfFollowed(path: string, stats: Stats, copies: Map<string, CopySeen>): 'copy' | 'maybe' | 'read' | number | undefined {
    const key = siblingKey(stats);
    if (this.readThrough.has(key)) return 'read';
    let maybe = false;
    for (const tracked of this.active.values()) {
      const found = copyOfFollowed(path, stats, tracked);
      if (found === 'copy') {
        // its bytes up to the file's offset (all of it, if shorter) are the file's, read through it
        const length = Math.min(stats.size, tracked.feed.offset);
        copies.set(key, { length, head: fingerprintPath(path, Math.min(length, FINGERPRINT_BYTES))?.fp, of: tracked });
        return 'copy';
      }
      if (found === 'maybe') maybe = true;
    }
    if (maybe) return 'maybe';
    const seen = this.copies.get(key);
    if (seen === undefined) return undefined;
    const head = fingerprintPath(path, Math.min(seen.length, FINGERPRINT_BYTES))?.fp;
    if (stats.size < seen.length || head === undefined || head !== seen.head) return 0;
    // the file it copies moved away (cp, then mv or rm): the rest of its bytes are read by its descriptor
    return seen.of.detached ? 'read' : seen.length;
  }

  private open(name: string, offset: number, detached: boolean, atEnd = false, at = name): Tracked | undefined {
    // read from its start: the rotated siblings there before the file is opened, so that a copy made
    // after the first look at it is new however long the follower stalls between the open and the
    // look at the directory (a sibling noted after the open may hold lines written after it: lost)
    const siblings = offset === 0 && !detached ? rotatedKeys(name) : undefined;
    const tracked = openTracked(name, offset, detached, atEnd, this.o.target, this.o.maxLineBytes, at);
    if (tracked === undefined) return undefined;
    // nothing read yet: a copy made before the first read is told from an older one by being new.
    // Not only an empty file: one stalled after the open may have been copied and truncated before
    // its first bytes were looked at (mtime -1: the first read looks at the siblings)
    if (siblings !== undefined) tracked.unread = { mtimeMs: -1, siblings };
    if (detached) this.detached.push(tracked);
    else this.active.set(name, tracked);
    return tracked;
  }

  /** A let-go file of a checkpoint, found at `path`: read on when it grew meanwhile, else let go again. */
  private openReleased(path: string, offset: number): void {
    const tracked = this.open(path, offset, true);
    if (tracked !== undefined && fstatSync(tracked.fd).size === offset) releaseTracked(tracked, false);
  }

  /** A pattern names the file at `path` (discover() follows it as a file of its own). */
  private matched(path: string): boolean {
    return this.o.patterns.some((pattern) => expandGlob(pattern).includes(path));
  }

  /** The file at `path` is open already (under any name), or let go and looked at (read on when it grows). */
  private tracking(path: string): boolean {
    const stats = safeStat(path);
    if (stats === undefined) return false;
    return [...this.detached, ...this.active.values()].some((tracked) => isTrackedFile(tracked, stats, path));
  }
}
