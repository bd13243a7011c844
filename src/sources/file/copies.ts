/**
 * Reading a followed file's rotated copies (app.log.1, …) through its feed: the bytes written
 * between two looks that are no longer under the file's name (a copytruncate, a follower stalled
 * across two rotations). Each copy is read from the feed's offset to its end; the ones read whole
 * go through the same feed one after the other, so a line cut at a copy's end is joined to its
 * rest in the next.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { FINGERPRINT_BYTES, fingerprintPath } from './checkpoint.js';
import type { LineFeed } from './feed.js';
import { safeStat } from './siblings.js';

/** Feeds the bytes of the file at `path` from the feed's offset to its end, `buffer` at a time. */
export function readRange(path: string, feed: LineFeed, buffer: Buffer): void {
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, feed.offset);
      if (n === 0) break;
      feed.take(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/** Feeds each of `copies` whole, in the order given (oldest first); one gone meanwhile is passed over. */
export function readWhole(copies: readonly string[], feed: LineFeed, buffer: Buffer): void {
  for (const copy of copies) {
    const stats = safeStat(copy);
    const fp = fingerprintPath(copy, FINGERPRINT_BYTES);
    if (stats === undefined || fp === undefined) continue;
    feed.restart({ dev: stats.dev, ino: stats.ino, ...fp }, 0, true);
    readRange(copy, feed, buffer);
  }
}
