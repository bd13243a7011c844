/**
 * One hub per data directory: `<data>/hub.lock` holds the pid of the hub that owns it, made by
 * link(2), which fails when the name exists, so two hubs starting at once cannot both win. A lock whose pid is no longer alive
 * (a hub killed with SIGKILL) is stale and taken over, and so is one naming our own pid that this
 * process does not hold (a container's hub is pid 1 in each of its lives). A second hub is refused, naming the pid:
 * two hubs on one store would each see only their own writers' lines live.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

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

export interface HubLock {
  release(): void;
}

export function lockDataDir(dataDir: string): HubLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'hub.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    // written whole under a name of our own, then linked: the lock never exists without its pid
    const mine = `${file}.${process.pid}`;
    const fd = openSync(mine, 'w', 0o644);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    try {
      linkSync(mine, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(file);
      const ours = holder === process.pid;
      if (holder !== undefined && (ours ? heldHere.has(file) : isAlive(holder))) throw new DataDirLocked(dataDir, holder);
      // stale: its hub died without releasing it
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
  throw new Error(`could not lock ${file}: another runlog server keeps taking it`);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}
