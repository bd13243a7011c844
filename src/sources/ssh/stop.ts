/**
 * How an ssh follower stops. Stop closes ssh's stdin: the remote script reads the file to its end
 * and exits 0 (remote.ts), so lines written just before a stop are not lost. While STOP_DRAIN_MS
 * lasts, a session that ends on something to read next (a rotation, a sibling, a truncation just
 * before the stop, a file that appeared) is followed by one more session, made with its stdin
 * closed at once. When the time runs out ssh's process group is killed (SIGTERM, SIGKILL 2 s
 * later) and the stop waits for it to exit: no ssh is left behind, and nothing on the host (the
 * script dies of SIGPIPE).
 *
 * What a stop could not read (its time ran out, the connection was down) is counted on the host
 * (survey.ts) and said in the run and on stderr. The checkpoint written after the stop keeps the
 * place delivered: a restart reads the rest. A follower killed during the stop leaves its last
 * checkpoint: a restart takes up from there.
 */
import type { LineTarget } from '../file/follower.js';
import type { RemotePlace } from './place.js';
import type { SshSession } from './session.js';
import { MISSING_EXIT } from './remote.js';
import { surveyScript, surveyUnread, unreadMessage } from './survey.js';

/** how long a stop waits for the remote script to read the file to its end (a slow link, a big rest) */
const STOP_DRAIN_MS = 5_000;

export class Stopping {
  private readonly until = Date.now() + STOP_DRAIN_MS;
  /** the last session read the file to its end (nothing left, as far as it could see) */
  drained = false;

  /**
   * A session ended while stopping: false when it read to the end (exit 0), or found no file to
   * read (76), or when the stop's time is over; else, while it lasts, what comes next is read too
   * (true): the file the name points to now (a job's last rotations, a follower still behind
   * them), the file again from its start after a truncation just before the stop, a file that
   * appeared as it came. Whatever is left after that time is said by sayUnread.
   */
  readOn(code: number | null): boolean {
    if (code === 0 || code === MISSING_EXIT) {
      this.drained = true;
      return false;
    }
    return Date.now() < this.until;
  }

  /**
   * Ends the session now (its stdin closed), kills ssh's group after STOP_DRAIN_MS, and waits
   * until the last session ended (the ones read on after it: readOn).
   */
  async drain(session: () => SshSession | undefined, exited: () => Promise<void>): Promise<void> {
    session()?.child.stdin?.end();
    let killer: NodeJS.Timeout | undefined;
    const drain = setTimeout(() => {
      session()?.kill('SIGTERM');
      killer = setTimeout(() => session()?.kill('SIGKILL'), 2000);
    }, STOP_DRAIN_MS);
    // the session may end on a rotation: the files after it are read by sessions of their own
    for (let last = exited(); ; last = exited()) {
      await last;
      if (exited() === last) break;
    }
    clearTimeout(drain);
    clearTimeout(killer);
  }
}

/**
 * The stop's time ran out before the remote side read to the end (a follower far behind: a big
 * file, rotated copies piled up), or the connection was down: what is left is counted on the host
 * and said in the run, so that nobody takes the run for complete. The checkpoint keeps the place:
 * a restart reads it (unless the run was `ended`). `sshArgs`: ssh's command line running a script.
 */
export async function sayUnread(
  o: { url: string; path: string; sshCommand: string; lines: LineTarget; onState?: (message: string) => void },
  place: RemotePlace,
  sshArgs: (script: string) => string[],
  ended: boolean,
): Promise<void> {
  const start = place.surveyStart();
  const script = surveyScript({ path: o.path, ...start });
  const message = unreadMessage(o.url, start.offset, await surveyUnread(o.sshCommand, sshArgs(script)), ended);
  if (message === undefined) return;
  o.lines.system(message, 'WARNING');
  o.onState?.(message);
  // the note took a seq after the file's last line: a restart numbers on after it, not onto it
  place.feed.remark();
}
