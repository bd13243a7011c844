/**
 * What a stopped ssh follower left unread, asked of the remote host in a session of its own.
 *
 * Why: a stop reads the remote file to its end within STOP_DRAIN_MS (stop.ts), one session per
 * rotated file. A follower far behind (a big file read while the hub was slow, rotated copies
 * piled up while it was stopped or stalled) is cut off then: the checkpoint keeps its place for a
 * restart, but a user who does not restart must learn that lines were left in the files. This
 * script counts them: the bytes after `offset` of the file the follower was reading (under the
 * name or beside it, by its inode), then, when the name points elsewhere, the rotated copies
 * written no earlier than that file (not compressed, not read already) and the name's own file.
 * It prints `RUNLOG-LEFT <files> <bytes>`.
 */
import { spawnWatched } from '../process/watchdog.js';
import { shellQuote } from './remote.js';

export interface Unread {
  files: number;
  bytes: number;
}

export interface SurveyStart {
  path: string;
  /** the inode of the file read last ('-': none) */
  ino: string;
  /** bytes of it received */
  offset: number;
  /** inodes of rotated files read to their end already */
  done: readonly string[];
}

export function surveyScript(start: SurveyStart): string {
  return [
    `f=${shellQuote(start.path)}; i=${shellQuote(start.ino)}; o=${Math.floor(start.offset)}; d=${shellQuote(` ${start.done.join(' ')} `)}`,
    // inode, size and mtime (nanoseconds, one integer) of $1
    `at() { stat -L -c '%i %s %.9Y' -- "$1" 2>/dev/null | tr -d .; }`,
    `set -- $(at "$f") - 0 0; ni=$1; ns=$2; n=0; b=0; s=; a0=`,
    `if [ "$i" = "$ni" ]; then s=$2; a0=$3`,
    `elif [ "$i" != - ]; then for g in "$f".* "$f"-* "$(dirname -- "$f")"/*; do`,
    `  [ -f "$g" ] || continue; set -- $(at "$g") - 0 0; [ "$1" = "$i" ] && { s=$2; a0=$3; break; }`,
    `done; fi`,
    `[ -n "$s" ] && [ "$s" -gt "$o" ] && { n=1; b=$((s-o)); }`,
    // the name points elsewhere: the copies rotated after the file read last, and the name's file
    `if [ "$ni" != - ] && [ "$i" != "$ni" ]; then`,
    `  [ -n "$a0" ] && for e in "$f".* "$f"-*; do`,
    `    case $e in *.gz|*.bz2|*.xz|*.zst|*.lz4|*.Z|*.zip) continue;; esac; [ -f "$e" ] || continue`,
    `    set -- $(at "$e") - 0 0; case $d in *" $1 "*) continue;; esac`,
    `    [ "$1" != "$i" ] && [ "$1" != "$ni" ] && [ "$3" -ge "$a0" ] && { n=$((n+1)); b=$((b+$2)); }`,
    `  done`,
    `  n=$((n+1)); b=$((b+ns))`,
    `fi`,
    `echo "RUNLOG-LEFT $n $b"`,
  ].join('\n');
}

/** how long a stop waits for the count (the host may be slow or gone) */
const SURVEY_MS = 5_000;

/** Runs the survey over ssh (`args`: the ssh command line with the script last); `error` says why when it could not say. */
export function surveyUnread(command: string, args: readonly string[]): Promise<Unread | { error: string }> {
  return new Promise((resolve) => {
    const { child, settled } = spawnWatched(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errors = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-300)));
    const timer = setTimeout(() => {
      errors ||= `no answer within ${SURVEY_MS / 1000} s`;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }, SURVEY_MS);
    child.on('error', (error) => (errors += error.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      settled();
      const match = /RUNLOG-LEFT (\d+) (\d+)/.exec(out);
      if (match) resolve({ files: Number(match[1]), bytes: Number(match[2]) });
      else resolve({ error: errors.trim().split(/\r?\n/).filter(Boolean).join('; ') || `ssh exited with ${code}` });
    });
  });
}

/** The run's `system` line for what a stop left (none when nothing was left); `ended`: the run ends, no restart can read it. */
export function unreadMessage(url: string, offset: number, left: Unread | { error: string }, ended: boolean): string | undefined {
  if ('files' in left && left.files === 0) return undefined;
  const what =
    'files' in left
      ? `${left.files} ${left.files === 1 ? 'file' : 'files'} with ${left.bytes} bytes not read (from byte ${offset} of the one it was reading on)`
      : `what was written after byte ${offset} of the file it was reading not read, how much could not be learned (${left.error})`;
  const then = ended ? '' : '; its checkpoint keeps the place: runlog follow started again for this run reads them';
  return `${url}: stopped before the remote file was read to its end: ${what}${then}`;
}
