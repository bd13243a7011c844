/**
 * Room kept aside on the SQLite store's disk for retention: `runlog.db-reserve` beside the file.
 * A disk the store itself filled could not be cleaned: deleting writes too (SQLite's WAL takes the
 * pages a delete changes, and a checkpoint must copy the WAL's earlier pages into the file, which
 * then grows), so `runlog cleanup` answered 507 like any write and the hub stayed full until
 * someone freed room by hand. A retention pass that finds the disk full gives the reserve back and
 * tries again; the pages it frees are the store's own again, so lines are taken again even while
 * the disk stays full. The reserve is made again once the disk has room to spare (at start, after
 * each retention pass). Only `runlog server` keeps one (HubConfig.diskReserveBytes); PostgreSQL
 * keeps its own disk.
 */
import { closeSync, existsSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** the reserve is made only when at least this many times its size stays free after it */
const SPARE_FACTOR = 4;

export class DiskReserve {
  constructor(
    readonly file: string,
    readonly bytes: number,
  ) {}

  /** Made when missing and the disk has room to spare; never throws (a reserve is a help, not a need). */
  ensure(): void {
    if (this.bytes <= 0 || existsSync(this.file)) return;
    let fd: number | undefined;
    try {
      const disk = statfsSync(dirname(this.file));
      if (disk.bavail * disk.bsize < (SPARE_FACTOR + 1) * this.bytes) return;
      fd = openSync(this.file, 'wx', 0o600);
      // written, not sparse: a hole would hold no room at all
      const block = Buffer.alloc(Math.min(this.bytes, 1024 * 1024));
      for (let at = 0; at < this.bytes; at += block.length) writeSync(fd, block, 0, Math.min(block.length, this.bytes - at), at);
    } catch {
      rmSync(this.file, { force: true });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Gives the room back: true when there was a reserve. */
  release(): boolean {
    if (!existsSync(this.file)) return false;
    rmSync(this.file, { force: true });
    return true;
  }
}
