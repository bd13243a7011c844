/**
 * makeDirectory: `mkdir -p`, one level at a time. The only file-system call in core, here because
 * the store, the spool, the WAL and the log file all make their folder the same way.
 *
 * Why not `mkdirSync(dir, { recursive: true })`: on Node 20 it never returns for a folder the
 * kernel answers ENOENT for although its parent exists (`/proc/x`): it retries the parent and the
 * child for ever, so `runlog run --log-dir /proc/x` hung at 100% CPU, deaf to SIGTERM.
 *
 * A folder it makes is 0700 unless told otherwise: the store, the WAL, the spool and the log files
 * hold everything the jobs printed, secrets included, and another user of the machine must not
 * read around the hub's tokens (PostgreSQL keeps its data directory 0700 for the same reason). A
 * folder that exists keeps its mode: whoever made it chose it.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDirectory(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const stat = statOrMissing(at);
    if (stat === 'missing') {
      missing.push(at);
      if (dirname(at) === at) break;
      continue;
    }
    if (!stat.isDirectory()) throw errnoError('ENOTDIR', `not a directory: ${at}`);
    break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder, { mode });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // another process made it first
      const found = code === 'EEXIST' ? statOrMissing(folder) : 'missing';
      if (found !== 'missing' && found.isDirectory()) continue;
      // its parent exists (made or found above): ENOENT here is a file system that takes no new folders
      if (code === 'ENOENT') throw errnoError('ENOENT', `cannot create ${folder}: this file system takes no new folders here`);
      throw error;
    }
  }
}

function statOrMissing(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing' as const;
    throw error;
  }
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
