/**
 * Where a followed file's bytes may be besides under its name: the rotated copies beside it
 * (logrotate's app.log.1, app.log-20261201; not compressed ones), found by inode or by their bytes.
 * A copy is taken for the file only when it is named as one and holds the same first bytes, and
 * the same bytes where the follower's offset is: another log of the directory may start alike.
 */
import { closeSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fingerprint, fingerprintPath, type FileCheckpoint } from './checkpoint.js';
import type { FileIdentity } from './feed.js';
import { globDirs, globMatches } from './glob.js';

/** a rotated sibling with these endings is compressed (logrotate's compress): not text to read */
const COMPRESSED = /\.(gz|bz2|xz|zst|zip|lz4)$/;

/**
 * A sibling made by copying the file before a truncation: named after it as a rotated copy is
 * (app.log.1, app.log-20261201), at least `offset` long, with the same first bytes and the same
 * bytes just before `offset` (another log may well start alike: a header, a banner).
 */
export function findCopy(name: string, identity: FileIdentity, offset: number, tail: Buffer, exceptIno: number): string | undefined {
  if (identity.fp_len === 0) return undefined;
  const dir = dirname(name);
  let best: Sibling | undefined;
  for (const entry of safeReaddir(dir)) {
    if (!isRotatedName(basename(name), entry)) continue;
    const path = join(dir, entry);
    const stats = safeStat(path);
    if (!stats?.isFile() || stats.ino === exceptIno || !holdsBytesOf(path, stats, identity, offset, tail)) continue;
    if (!best || olderFirst(best, { path, stats }) < 0) best = { path, stats };
  }
  return best?.path;
}

/** The file at `path` holds a file's first bytes (`identity`) and `tail` just before `offset`: what findCopy asks of a copy. */
export function holdsBytesOf(path: string, stats: Stats, identity: FileIdentity, offset: number, tail: Buffer): boolean {
  if (identity.fp_len === 0 || stats.size < offset) return false;
  if (fingerprintPath(path, identity.fp_len)?.fp !== identity.fp) return false;
  return readAt(path, offset - tail.length, tail.length)?.equals(tail) === true;
}

/**
 * The checkpointed file was rotated while nobody followed it (found under `rotated`): the files
 * rotated after it, before the one now under the name (a second rotation meanwhile: app.log.1
 * written after app.log.2 was), oldest first. They are its siblings named after the name
 * (app.log.1, app.log-20261201), not compressed, newer than it (olderFirst).
 */
export function rotatedAfter(name: string, rotated: string): string[] {
  const since = safeStat(rotated);
  return since === undefined ? [] : rotatedSince(name, since);
}

/**
 * rotatedAfter, for a file known by its stats (one still open, whatever its name now, or none):
 * the siblings olderFirst puts after it (written in the same tick: made later, or named as newer).
 */
export function rotatedSince(name: string, since: Stats): string[] {
  const current = safeStat(name);
  const siblings = rotatedWhere(name, (stats) => stats.ino !== current?.ino);
  // its own name among them tells it from a copy stamped alike (none: it sorts before them)
  const itself = { path: siblings.find(({ stats }) => stats.ino === since.ino)?.path ?? '', stats: since };
  return siblings.filter((sibling) => sibling.stats.ino !== since.ino && olderFirst(itself, sibling) < 0).map(({ path }) => path);
}

/** The rotated siblings of `name` there now (as siblingKey): a sibling not among them is made later. */
export function rotatedKeys(name: string): Set<string> {
  const dir = dirname(name);
  const base = basename(name);
  return new Set(safeReaddir(dir).flatMap((entry) => (isRotatedName(base, entry) ? [siblingKey(safeStat(join(dir, entry)))] : [])));
}

/**
 * One listing of the rotated siblings of `name`: the ones not among `known` (rotatedKeys), oldest
 * first (olderFirst), and the keys of them all. A sibling made after the listing is in neither,
 * so the next look finds it new (a second listing for the keys would take a copy made between the
 * two for one already read).
 */
export function rotatedNew(name: string, known: ReadonlySet<string>): { added: string[]; keys: Set<string> } {
  const keys = new Set<string>();
  const added = rotatedWhere(name, (stats) => {
    keys.add(siblingKey(stats));
    // a key without a birth time (a checkpoint of an older release, a file system without one): by inode
    return !known.has(siblingKey(stats)) && !known.has(fileKey(stats));
  });
  return { added: added.map(({ path }) => path), keys };
}

/**
 * A rotated sibling's key: dev, inode and birth time. A rotation that keeps N files frees an inode
 * and takes one each time, and ext4 hands the freed numbers out again: after two rotations nobody
 * saw, app.log.1 and app.log.2 had the very inodes of the copies known before them, and their
 * lines were taken for read (lost). The birth time tells a reused inode from the file it was; a
 * rename keeps it.
 */
export function siblingKey(stats: Stats | undefined): string {
  if (stats === undefined) return 'none';
  return stats.birthtimeMs > 0 ? `${stats.dev}:${stats.ino}:${stats.birthtimeMs}` : fileKey(stats);
}

/** The rotated siblings of `name` (plain files) that `keep`, oldest first (olderFirst). */
function rotatedWhere(name: string, keep: (stats: Stats) => boolean): { path: string; stats: Stats }[] {
  const dir = dirname(name);
  const base = basename(name);
  const found: { path: string; stats: Stats }[] = [];
  for (const entry of safeReaddir(dir)) {
    if (!isRotatedName(base, entry)) continue;
    const path = join(dir, entry);
    const stats = safeStat(path);
    if (stats?.isFile() && keep(stats)) found.push({ path, stats });
  }
  return found.sort(olderFirst);
}

/** A file beside a followed one, as it was listed. */
export interface Sibling {
  path: string;
  stats: Pick<Stats, 'mtimeMs' | 'birthtimeMs'>;
}

/**
 * Orders rotated copies oldest first: by when they were last written, then (written within the
 * same tick) by when they were made, then by their names. The clock a file system stamps files
 * with is coarse (a jiffy, 4 ms: Linux takes a fine one only for a file whose times were looked
 * at since): a rotation right after a write leaves app.log.2 and app.log.1 with the same mtime,
 * and in the order the directory listed them (its hash order) the newer copy's lines came before
 * the older one's (test/follow-inode-reuse.test.ts, 1 run in 4). A rename keeps the birth time,
 * so app.log.2 was made before app.log.1; a copytruncate's copies are made in rotation order.
 */
export function olderFirst(a: Sibling, b: Sibling): number {
  if (a.stats.mtimeMs !== b.stats.mtimeMs) return a.stats.mtimeMs - b.stats.mtimeMs;
  const born = a.stats.birthtimeMs > 0 && b.stats.birthtimeMs > 0 ? a.stats.birthtimeMs - b.stats.birthtimeMs : 0;
  return born !== 0 ? born : byRotationName(a.path, b.path);
}

/**
 * Two copies told apart by name only: a rotation count (app.log.2, app.log-3) counts up with age;
 * a date or time (app.log-20261201) sorts as text, oldest first.
 */
function byRotationName(a: string, b: string): number {
  const count = /[.-](\d{1,6})$/;
  const [ca, cb] = [count.exec(a), count.exec(b)];
  if (ca && cb && ca.index === cb.index && a.slice(0, ca.index) === b.slice(0, cb.index)) return Number(cb[1]) - Number(ca[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The file a checkpoint entry names: under its name, or rotated to a sibling. It must hold the
 * same first bytes and the same bytes before the offset (a file rewritten with the same start,
 * a banner longer than the first-bytes fingerprint, is not the one the offset counts into).
 */
export function locateCheckpointed(name: string, entry: FileCheckpoint): string | undefined {
  const base = basename(name);
  const siblings = safeReaddir(dirname(name)).filter((entryName) => entryName !== base);
  const candidates = [name, ...siblings.map((entryName) => join(dirname(name), entryName))];
  // the same inode first (under the name, or renamed to any name); then a copy with the same
  // bytes under a name a rotated copy has (copytruncate while nobody followed)
  const copies = [...siblings.filter((entryName) => isRotatedName(base, entryName)).map((entryName) => join(dirname(name), entryName))];
  for (const [sameInode, paths] of [[true, candidates], [false, copies]] as const) {
    for (const path of paths) {
      const stats = safeStat(path);
      if (!stats?.isFile() || stats.size < entry.offset) continue;
      if (sameInode !== (stats.ino === entry.ino && stats.dev === entry.dev)) continue;
      if (!sameInode && entry.fp_len === 0) continue;
      if (entry.fp_len > 0 && fingerprintPath(path, entry.fp_len)?.fp !== entry.fp) continue;
      if (tailMatches(path, entry)) return path;
    }
  }
  return undefined;
}

/** Does the file at `path` hold, just before `offset`, the bytes a checkpoint's tail_fp says? (true when it says nothing) */
function tailMatches(path: string, entry: { offset: number; tail_fp?: string; tail_len?: number }): boolean {
  if (entry.tail_fp === undefined || entry.tail_len === undefined) return true;
  const bytes = readAt(path, entry.offset - entry.tail_len, entry.tail_len);
  return bytes !== undefined && fingerprint(bytes) === entry.tail_fp;
}

/**
 * Files made after `since` (ms: birth time) that the patterns do not match, named as a rotated copy
 * of a name they do (app.log.1, app.log-20261201 for 'logs/*.log'), oldest first (olderFirst):
 * made under the glob and rotated out of it while nobody followed (no checkpoint names them).
 * None where the file system keeps no birth time: an old copy renamed again looks the same then.
 */
export function bornRotatedSince(patterns: readonly string[], since: number): string[] {
  const found = new Map<string, Stats>();
  for (const pattern of patterns) {
    for (const dir of globDirs(pattern)) {
      for (const entry of safeReaddir(dir)) {
        const path = join(dir, entry);
        if (found.has(path) || COMPRESSED.test(entry) || patterns.some((p) => globMatches(p, path))) continue;
        if (!rotatedNames(entry).some((base) => globMatches(pattern, join(dir, base)))) continue;
        const stats = safeStat(path);
        if (stats?.isFile() && stats.birthtimeMs > since) found.set(path, stats);
      }
    }
  }
  return [...found]
    .map(([path, stats]) => ({ path, stats }))
    .sort(olderFirst)
    .map(({ path }) => path);
}

/** The names `entry` is a rotated copy of: app.log.1.gz → app.log.1, app.log (every cut before a `.` or `-`). */
export function rotatedNames(entry: string): string[] {
  const bases: string[] = [];
  for (let i = 1; i < entry.length - 1; i++) if (entry[i] === '.' || entry[i] === '-') bases.push(entry.slice(0, i));
  return bases;
}

/** A name a rotated copy of `base` has (app.log.1, app.log-20261201), not compressed. */
export function isRotatedName(base: string, entry: string): boolean {
  return (entry.startsWith(`${base}.`) || entry.startsWith(`${base}-`)) && !COMPRESSED.test(entry);
}

/** dev and inode: which file a name points to */
export function fileKey(file: { dev: number; ino: number } | undefined): string {
  return file === undefined ? 'none' : `${file.dev}:${file.ino}`;
}

export function safeStat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** `length` bytes of a file from `position`; undefined when it cannot be read */
export function readAt(path: string, position: number, length: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(length);
    return readSync(fd, buffer, 0, length, position) === length ? buffer : undefined;
  } finally {
    closeSync(fd);
  }
}

export function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
