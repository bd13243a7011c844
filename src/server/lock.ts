/**
 * One process per lock file: `<dir>/<name>` holds the pid of the process that owns it, made by
 * link(2), which fails when the name exists, so two processes starting at once cannot both win. A
 * lock whose pid is no longer alive (a process killed with SIGKILL, a zombie too) is stale and taken over, and so
 * is one naming our own pid that this process does not hold (a container's process is pid 1 in
 * each of its lives). A second process is refused, naming the pid. Used for one hub per data
 * directory (hub.lock: two hubs on one store would each see only their own writers' lines live)
 * and one worker per id and data directory (worker-ID.lock: two would share its spool and task).
 */
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../pipeline/spool/owner.js';
import { makeDirectory } from '../core/make-dir.js';

export class DataDirLocked extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data directory ${dataDir} is in use by another runlog server (pid ${pid}); stop it, or use another --data`);
    this.name = 'DataDirLocked';
  }
}

/** the lock files this process holds: a lock naming our own pid and not among these is a previous life's (a container's pid 1) */
const heldHere = new Set<string>();

export interface PidLock {
  release(): void;
}

export function lockDataDir(dataDir: string): PidLock {
  return lockWithPid(dataDir, 'hub.lock', (pid) => new DataDirLocked(dataDir, pid));
}

/** `<dir>/<name>` for this process, or `refused(pid of its holder)` thrown. */
export function lockWithPid(dir: string, name: string, refused: (pid: number) => Error): PidLock {
  makeDirectory(dir);
  const file = join(dir, name);
  for (let attempt = 0; attempt < 3; attempt++) {
    // written whole under a name of our own, then linked: the lock never exists without its pid
    const mine = `${file}.${process.pid}`;
    writePid(mine, file);
    try {
      linkSync(mine, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(file);
      const ours = holder === process.pid;
      if (holder !== undefined && (ours ? heldHere.has(file) : isAlive({ pid: holder, start: null, kind: 'lock' }))) throw refused(holder);
      // stale: its process died without releasing it
      try {
        unlinkSync(file);
      } catch {
        // another starting hub removed it first: try again
      }
      continue;
    } finally {
      unlinkSync(mine);
    }
    heldHere.add(file);
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        heldHere.delete(file);
        // only our own: a lock taken over meanwhile is not ours to remove
        if (readPid(file) === process.pid) unlinkSync(file);
      },
    };
  }
  throw new Error(`could not lock ${file}: another process keeps taking it`);
}

/**
 * Writes our pid to `mine`. A data directory on a full disk (ENOSPC) or read-only is said naming
 * the lock, rather than as a bare "ENOSPC: no space left on device, write", and leaves no
 * half-written `mine` behind.
 */
function writePid(mine: string, file: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(mine, 'w', 0o644);
    writeSync(fd, `${process.pid}\n`);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    try {
      unlinkSync(mine);
    } catch {
      // never made
    }
    const why = code === 'ENOSPC' ? 'no space left on its disk: free some, then start again' : message;
    throw new Error(`cannot write the lock file ${file}: ${why}`, { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
