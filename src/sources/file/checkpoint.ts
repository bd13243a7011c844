/**
 * Follow checkpoints: where a restarted follower takes up each file, and the run it feeds.
 *
 * One JSON file per run, `<data>/follow/<run>.json`, mode 0600 (it holds the run's writer key):
 *   { version: 1, run, writer_key, last_seq, looked_at, files: [{ path, dev, ino, fp, fp_len, offset, size, seq, tail_fp, tail_len, released, rotated, birth, siblings }] }
 * `offset` is the first byte not yet delivered: every byte before it is a record the hub has
 * acknowledged, with a seq ≤ `last_seq`, and none after it is. `fp` is a sha256 of the file's first
 * `fp_len` bytes (up to 1 KiB; of those read so far while the file is younger, even at offset 0): with dev and ino it tells "the same file" from a file truncated and
 * written again, or a new file on a reused inode. `size` is how big the file was when the
 * checkpoint was written, so the bytes lost to a truncation while nobody was following can be
 * counted. `released` marks a file let go (no longer under its name, quiet for a long time): it is
 * still looked at for growth, by a restart too (absent in older checkpoints: none was). `rotated` marks a file no longer the live one (another file was under its name, or under the name it is a rotated copy of): deleted by the rotation after it was read to its end, a restart drops it without a word (checkpointed.ts); `birth`, its birth time, tells it from a new file on its freed inode. `siblings`, for a file nothing of which was read yet, lists its rotated siblings (dev:ino:birth time) then:
 * a copy made after is read whole by a restart. `tail_fp` is a sha256 of the `tail_len` bytes just before `offset` (up to 1 KiB): a file
 * rewritten while nobody followed it that starts as before (a banner longer than 1 KiB) differs
 * there, and a look-alike of another file does too. `seq` is the seq of the last record before `offset` (≤ last_seq: the records after it
 * may still be held, a progress bar's or a partial line's): a restarted follower of one file numbers
 * on from it, so what it reads again gets the seqs it had.
 *
 * When: as a batch is made, before it is sent (HubShipper onSending), with `sending`: the batch's
 * last seq and the offsets that stand for it; as soon as the hub acknowledged it (onDelivered),
 * without; and once more when the follower stops. One batch is in flight at a time and the hub
 * stores a batch whole, so a restart tells which of the two is true by asking the hub its last seq
 * (the lease answer): at or past `sending.last_seq`, the batch is in and `sending` holds; else the
 * offsets before it do. How: written to a temporary file, then renamed over the old one, so a
 * crash leaves the previous checkpoint or the new one, never half of one. Neither is fsynced: a
 * machine crash can leave an older checkpoint, and the follower reads again lines the hub has.
 * One file: it numbers them as before (the same seqs), and the hub ignores a (stream, seq) it
 * already has. The files of several names (or of a glob) may interleave differently the second
 * time, so such a follower numbers on after the hub's last line instead: those lines may come
 * twice (said in a `system` line), none is lost.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileIdentity } from './feed.js';
import { makeDirectory } from '../../core/make-dir.js';

export const FINGERPRINT_BYTES = 1024; // 1 KiB: enough to tell two logs apart, cheap to reread

export interface FileCheckpoint extends FileIdentity {
  /** the followed name (a local path, or ssh://host/path) */
  path: string;
  offset: number;
  size: number;
  /** the last seq of the records the bytes before `offset` became (absent in older checkpoints) */
  seq?: number;
  /** sha256 (hex, 32 chars) of the tail_len bytes before `offset` (absent in older checkpoints) */
  tail_fp?: string;
  tail_len?: number;
  /**
   * nothing of the file read yet (offset 0, no first bytes): its rotated siblings then (dev:ino:birth time, or dev:ino from an older release; over ssh, inodes),
   * so a restart tells the copies made meanwhile (copytruncate) from older ones
   */
  siblings?: string[];
  /**
   * let go (renamed or deleted away from its name, quiet for --release-after) and read to `offset`:
   * a restart finds it again, reads on if it grew, and reads none of it again
   */
  released?: boolean;
  /**
   * no longer the live file when the checkpoint was taken: another file was under the name it was
   * followed by, or under the name it is a rotated copy of (app.log for app.log.3). Its writer had
   * moved on: gone by the restart after being read to its end, nothing of it was missed (absent in
   * older checkpoints: such a file gets its "could not be read" line, as before)
   */
  rotated?: boolean;
  /** with `rotated`: its birth time (ms, 0 where the file system keeps none), telling it from a new file on its freed inode */
  birth?: number;
}

export interface FollowCheckpoint {
  version: 1;
  run: string;
  /** the run's writer key (PROTOCOL.md): a restarted follower is the same writer */
  writer_key: string;
  last_seq: number;
  files: FileCheckpoint[];
  /**
   * when the follower had last looked for the files of its globs (ms since the epoch) as `files`
   * was taken: a file born after it was not seen (absent in older checkpoints)
   */
  looked_at?: number;
  /** the batch sent and not yet acknowledged: where the files are once the hub has up to its last seq */
  sending?: { last_seq: number; files: FileCheckpoint[]; looked_at?: number };
}

export function checkpointPath(dataDir: string, runId: string): string {
  return join(dataDir, 'follow', `${runId}.json`);
}

export function newWriterKey(): string {
  return randomBytes(16).toString('base64url');
}

export function loadCheckpoint(path: string): FollowCheckpoint | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as FollowCheckpoint;
  if (parsed.version !== 1 || !Array.isArray(parsed.files)) throw new Error(`${path}: not a follow checkpoint`);
  return parsed;
}

export function saveCheckpoint(path: string, checkpoint: FollowCheckpoint): void {
  makeDirectory(join(path, '..'), 0o700);
  const temporary = `${path}.${process.pid}.tmp`;
  // a new file, never a leftover of an earlier process with our pid (its mode would be kept): it holds the writer key
  rmSync(temporary, { force: true });
  try {
    writeFileSync(temporary, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true }); // a full disk: its room back; the checkpoint before stays whole
    throw error;
  }
}

/**
 * saveCheckpoint for the data path, which must not throw: a checkpoint the disk refuses (full) is
 * said once, with what it means, and true is returned only once it is written; the caller tries
 * again at its next save. Lines still go to the hub meanwhile: only a restart reads again from
 * the last checkpoint written (the hub keeps one line per seq).
 */
export function checkpointSaver(path: string, warn: (message: string) => void): (checkpoint: FollowCheckpoint) => boolean {
  let failing = false;
  return (checkpoint) => {
    try {
      saveCheckpoint(path, checkpoint);
    } catch (error) {
      if (!failing) warn(`cannot write the checkpoint ${path} (${(error as Error).message}): lines still go to the hub; until it is written again, a restart reads the files again from the last checkpoint`);
      failing = true;
      return false;
    }
    if (failing) warn(`the checkpoint ${path} is written again`);
    failing = false;
    return true;
  };
}

/** sha256 of the first `length` bytes of an open file (fewer if it is shorter). */
export function fingerprintFd(fd: number, length = FINGERPRINT_BYTES): { fp: string; fp_len: number } {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, read, length - read, read);
    if (n === 0) break;
    read += n;
  }
  return { fp: fingerprint(buffer.subarray(0, read)), fp_len: read };
}

export function fingerprint(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

/** The (up to `length`) bytes of an open file just before `offset` (fewer if it is shorter now). */
export function bytesBeforeFd(fd: number, offset: number, length = FINGERPRINT_BYTES): Buffer {
  const buffer = Buffer.alloc(Math.min(offset, length));
  const read = buffer.length === 0 ? 0 : readSync(fd, buffer, 0, buffer.length, offset - buffer.length);
  return buffer.subarray(0, read);
}

/** sha256 of the (up to FINGERPRINT_BYTES) bytes of an open file just before `offset`. */
export function tailFingerprintFd(fd: number, offset: number): { tail_fp: string; tail_len: number } {
  const bytes = bytesBeforeFd(fd, offset);
  return { tail_fp: fingerprint(bytes), tail_len: bytes.length };
}

/** The fingerprint of a file by name, over `length` bytes; undefined when it cannot be read. */
export function fingerprintPath(path: string, length: number): { fp: string; fp_len: number } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return fingerprintFd(fd, length);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
