/**
 * spawnWatched: a child in a process group of its own that dies with this process.
 *
 * Why: a command `runlog run` or `runlog worker` runs, or the `ssh` of `runlog follow ssh://…`,
 * must not outlive its runlog process (issue 9; the seed's "no zombie ssh connections"), even
 * when that process is SIGKILLed. Beside each child runs a watchdog, `/bin/sh -c 'read g; read _
 * || kill -9 -$g'`, in a session of its own, whose stdin is a pipe from this process. It is
 * started before the child and told the child's process group as soon as spawn returns; should
 * this process die before that, the watchdog finds the child by a mark in its environment
 * (RUNLOG_WATCHDOG, in /proc/<pid>/environ). Nobody else holds that pipe's write end (Node opens
 * its fds close-on-exec), so when this process dies, however it dies, the kernel closes it, `read`
 * sees end-of-file, and the watchdog kills the child's whole process group: a shell and the
 * children it waits for, printing or not. When the child ends, this process writes a newline and
 * the watchdog exits without killing. Why not `setpriv --pdeathsig SIGKILL`: the parent-death
 * signal reaches only the direct child (the shell), and its group lives on; it also needs
 * util-linux. Costs one small `sh` per child (~1 ms). A child that leaves its process group
 * (setsid, a daemon) escapes it, as it would escape a signal to the group.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface WatchedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio: StdioOptions;
}

export interface Watched {
  child: ChildProcess;
  /** the child ended by itself (or was stopped by us): the watchdog goes without killing */
  settled: () => void;
}

/** Spawns `file` detached (a process group of its own) with a watchdog that kills the group if this process dies. */
export function spawnWatched(file: string, args: readonly string[], options: WatchedOptions): Watched {
  // the watchdog first: the child is never without one (see the header)
  const mark = randomBytes(8).toString('hex');
  const watchdog = startWatchdog(mark);
  let child: ChildProcess;
  try {
    child = spawn(file, args, { cwd: options.cwd, env: { ...(options.env ?? process.env), RUNLOG_WATCHDOG: mark }, detached: true, stdio: options.stdio });
  } catch (error) {
    // spawn refused the command (a NUL byte, E2BIG): nothing to guard, the watchdog goes now
    watchdog?.stdin?.end('\n');
    throw error;
  }
  if (child.pid === undefined) watchdog?.stdin?.end('\n');
  else watchdog?.stdin?.write(`${child.pid}\n`);
  return { child, settled: () => watchdog?.stdin?.end('\n') };
}

// Line 1 is the command's process group; then end-of-file (the runner died) kills that group, a
// newline (the command ended) does not. End-of-file before line 1 (the runner died while starting
// the command): the processes whose environment carries this command's mark go, with their groups.
const WATCHDOG = [
  'if ! read g; then',
  '  for f in $(grep -lzx "RUNLOG_WATCHDOG=$1" /proc/[0-9]*/environ 2>/dev/null); do',
  '    p=${f#/proc/}; p=${p%/environ}; kill -9 -"$p" "$p" 2>/dev/null',
  '  done',
  '  exit 0',
  'fi',
  '[ -z "$g" ] && exit 0',
  'read _ || kill -9 -"$g" 2>/dev/null',
].join('\n');

/** A watchdog waiting for the process group to guard, then for the runner's death (see the header). */
function startWatchdog(mark: string): ChildProcess | undefined {
  try {
    const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'runlog-watchdog', mark], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    watchdog.on('error', () => {}); // no /bin/sh: the command runs unwatched
    watchdog.stdin?.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return watchdog;
  } catch {
    return undefined;
  }
}

