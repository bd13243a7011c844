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
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

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

/**
 * A folder of this user's own in the shared temporary folder, `<tmpdir>/<name>-<uid>` (as tmux's
 * `/tmp/tmux-<uid>`): one fixed name there would be any user's to make first, as a symlink or a
 * folder of theirs, and the files written in it (a spool opened with `w+`, a seq file) would go
 * where they chose, or be theirs to read and plant. Refused, at start, unless it is a real folder
 * owned by this user that nobody else may enter.
 */
export function privateTempDir(name: string, base = tmpdir()): string {
  const uid = process.getuid?.();
  const dir = join(base, uid === undefined ? name : `${name}-${uid}`);
  makeDirectory(dir, 0o700);
  if (uid === undefined) return dir;
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    const what = stat.isSymbolicLink() ? 'a symbolic link' : !stat.isDirectory() ? 'not a folder' : stat.uid !== uid ? `owned by uid ${stat.uid}` : `mode ${(stat.mode & 0o777).toString(8)}`;
    throw new Error(`${dir} is not this user's private folder (${what}): remove it, or name another folder`);
  }
  return dir;
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
