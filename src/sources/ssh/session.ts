/**
 * One session of an ssh follower: the system's ssh running the remote script (remote.ts), its
 * header line read, the bytes after it passed on, the script's notes read from its stderr
 * (notes.ts), and ssh's own words kept for the message when it ends.
 *
 * A session ends when ssh does, for any reason: the script ended (a rotation, a truncation, a file
 * that appeared, a stop read to the end), the link died, ssh was killed (a stop that ran out of
 * time, dropConnection). Then `closed` says how (exit code, bytes received, ssh's words) and the
 * follower decides what comes next (ssh.ts). A killed ssh leaves nothing on the host: the script
 * dies of SIGPIPE at its next keep-alive byte. A follower killed outright (SIGKILL) leaves no ssh:
 * spawnWatched's watchdog kills ssh's process group. Nothing is checkpointed here: the bytes go to
 * the feed, and only what the hub acknowledged moves a checkpoint (place.ts).
 *
 * While the lines read wait for the hub (the shipper's memory full), ssh's output is not read
 * (OutputHold): the bytes wait in the pipe and in TCP, and the remote script blocks on its writes.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnWatched } from '../process/watchdog.js';
import { BUSY_RETRY_MS } from '../file/follower.js';
import { parseHeader, type RemoteHeader } from './remote.js';
import { NoteStream, type ScriptNote } from './notes.js';

export interface SessionEvents {
  /** the header line came (undefined: it was no header; the session is being ended) */
  header(header: RemoteHeader | undefined): void;
  /** bytes of the file, after the header */
  bytes(chunk: Buffer): void;
  note(note: ScriptNote): void;
  /** ssh ended: its exit code, the bytes of the file received, ssh's own words (one line), whether a header came */
  closed(code: number | null, got: number, errors: string, answered: boolean): void;
}

export class SshSession {
  readonly child: ChildProcess;
  /** resolved once the session ended and `closed` was called */
  readonly exited: Promise<void>;

  /** `draining`: the follower is stopping: the script reads the file to its end, then exits */
  constructor(command: string, args: readonly string[], url: string, events: SessionEvents, draining: boolean) {
    // with a watchdog: a follower killed by SIGKILL leaves no ssh behind (and so no script on the host)
    // stdin is a pipe that stays open while the follower runs: its end tells the script to stop
    const { child, settled } = spawnWatched(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdin?.on('error', () => {}); // ssh gone already: it is waited for on 'close'
    if (draining) child.stdin?.end(); // read to the end, then stop
    let header: Buffer | undefined = Buffer.alloc(0);
    let got = 0;
    let errors = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      if (header !== undefined) {
        const data = Buffer.concat([header, chunk]);
        const newline = data.indexOf(0x0a);
        if (newline === -1) {
          header = data;
          return;
        }
        const parsed = parseHeader(data.toString('utf8', 0, newline));
        header = undefined;
        events.header(parsed);
        if (parsed === undefined) return;
        chunk = data.subarray(newline + 1);
      }
      got += chunk.length;
      events.bytes(chunk);
    });
    const stderr = new NoteStream(url);
    // the keep-alive dots are not news; the script's notes are read; anything else is kept for the message on exit
    const onStderr = ({ notes, rest: text }: ReturnType<NoteStream['read']>) => {
      for (const note of notes) events.note(note);
      if (text.trim() !== '') errors = (errors + text).slice(-500);
    };
    child.stderr?.on('data', (chunk: Buffer) => onStderr(stderr.read(chunk)));
    this.exited = new Promise((resolve) => {
      child.on('error', (error) => (errors += error.message));
      child.on('close', (code) => {
        onStderr(stderr.end());
        settled();
        // ssh's lines (a timeout says two) as one: each state is one stderr line of the follower's
        events.closed(code, got, errors.split(/\r?\n/).map((line) => line.trim()).filter(Boolean).join('; '), header === undefined);
        resolve();
      });
    });
  }

  /** Signals ssh's whole process group (ssh and what it started). */
  kill(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Reads no more of a session's output while `busy` says so (BUSY_RETRY_MS apart), nor once the
 * session is no longer the follower's. One for a follower: `holding` is what its partial-line
 * timer asks (a line whose rest waits in the pipe is no writer stopped mid-line).
 */
export class OutputHold {
  holding = false;

  constructor(
    private readonly busy: () => boolean,
    private readonly current: () => SshSession | undefined,
    /** reading again */
    private readonly resumed: () => void,
  ) {}

  hold(session: SshSession): void {
    session.child.stdout?.pause();
    if (this.holding) return;
    this.holding = true;
    const check = setInterval(() => {
      if (this.busy() && this.current() === session) return;
      clearInterval(check);
      this.holding = false;
      this.resumed();
      session.child.stdout?.resume();
    }, BUSY_RETRY_MS);
  }
}
