/**
 * SshFollower: a file on another machine, through the system's `ssh`, → the same LineFeed as a
 * local file. This module makes the connections, one session after another, and connects again
 * with backoff; session.ts is one session (ssh, its header, bytes and notes), place.ts where the
 * follower stands in the remote file and what it checkpoints, stop.ts how it stops.
 *
 * ssh runs with BatchMode (never a prompt), the user's keys and ~/.ssh/config, ServerAliveInterval
 * (a dead link is noticed in ~15 s) and compression (log text shrinks several times, so the bytes
 * on the wire stay near or below the file's growth). Options given with --ssh-option come first, and
 * ssh keeps the first value it reads for an option, so they win. The remote script (remote.ts)
 * streams from the byte after the last one received; when ssh ends for any reason the follower
 * connects again with backoff (250 ms, or RUNLOG_SSH_RETRY_MS, doubling to 10 s, reset by a session that brought bytes),
 * from that same byte, so nothing is fetched twice and what was written meanwhile comes then. A
 * session that ends on something to read next (a rotation, a truncation, a file that appeared)
 * is followed by the next one at once. A killed ssh is a connection lost like any other: the next
 * session starts from the bytes received (a partial line held stays held: the rest comes then).
 * A follower killed outright leaves no ssh (session.ts) and its last checkpoint (place.ts).
 * For --until-idle, only time the remote side looked at the file counts as idle (lastGrowthAt).
 */
import type { FileCheckpoint } from '../file/checkpoint.js';
import type { LineTarget } from '../file/follower.js';
import { sshCommandLine, type SshTarget } from './url.js';
import { APPEARED_EXIT, MISSING_EXIT, remoteScript, type RemoteHeader } from './remote.js';
import type { ScriptNote } from './notes.js';
import { RemotePlace } from './place.js';
import { OutputHold, SshSession } from './session.js';
import { sayUnread, Stopping } from './stop.js';
import { noFileYet } from '../said.js';

export { parseSshUrl, type SshTarget } from './url.js';

export interface SshFollowerOptions {
  target: SshTarget;
  lines: LineTarget;
  /** extra ssh arguments (-i key, -o Option=value, -p port), before runlog's own */
  sshArgs?: readonly string[];
  sshCommand?: string;
  resume?: FileCheckpoint;
  fromEnd?: boolean;
  partialTimeoutMs?: number;
  maxLineBytes?: number;
  /** the connection's ups and downs, for the user's terminal */
  onState?: (message: string) => void;
  /** the lines read wait somewhere bounded (the shipper's memory): while it says so, ssh's output is not read (TCP holds the rest) */
  busy?: () => boolean;
}

/**
 * The first wait before connecting again (doubling up to MAX_BACKOFF_MS). RUNLOG_SSH_RETRY_MS sets
 * it: a link known to be slow to come back, and tests that need a wait longer than a session.
 */
const MIN_BACKOFF_MS = retryMs(process.env.RUNLOG_SSH_RETRY_MS) ?? 250;
const MAX_BACKOFF_MS = 10_000;

function retryMs(text: string | undefined): number | undefined {
  const ms = Number(text);
  return text !== undefined && text !== '' && Number.isSafeInteger(ms) && ms >= 10 && ms <= 60_000 ? ms : undefined;
}

export class SshFollower {
  readonly stats = { connections: 0, bytes: 0 };
  private readonly place: RemotePlace;
  private readonly hold: OutputHold;
  private session: SshSession | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** set by stop(): no connection again but those that read on (Stopping.readOn) */
  private stopping: Stopping | undefined;
  /** some session's header came: the host answers and the name was looked at */
  private answered = false;
  private backoff = MIN_BACKOFF_MS;
  private retry: NodeJS.Timeout | undefined;
  private partialTimer: NodeJS.Timeout | undefined;
  /** a session's header came: bytes flow now (and the remote side looks at the file 4–10 times a second) */
  private streaming = false;
  /** when the remote side last looked (a `missing` header, the end of a session that streamed) */
  private lookedAt: number | undefined;

  constructor(private readonly o: SshFollowerOptions) {
    this.place = new RemotePlace(o.target.url, o.lines, o.resume, o.fromEnd ?? false, o.maxLineBytes);
    this.hold = new OutputHold(
      () => o.busy?.() ?? false,
      () => this.session,
      // the partial timeout counts from now: bytes that waited in the pipe are no writer stopped mid-line
      () => (this.place.feed.lastGrowthAt = Date.now()),
    );
  }

  /** The ssh process now, if any (tests check that none is left). */
  get pid(): number | undefined {
    return this.session?.child.pid;
  }

  /**
   * When the file last grew, for --until-idle, counting only time the remote side looked: while it
   * does not (ssh connecting, waiting to look again for a name not there yet), idle time stands
   * still at what the last look saw, so a file that appears meanwhile is not missed by a stop.
   */
  get lastGrowthAt(): number {
    const feed = this.place.feed;
    if (this.streaming) return feed.lastGrowthAt;
    const now = Date.now();
    if (this.lookedAt === undefined) return now; // nothing looked at yet: not idle
    return now - Math.max(0, this.lookedAt - feed.lastGrowthAt);
  }

  start(): void {
    this.connect();
    // only while connected: a line cut by a lost connection is not a writer that stopped mid-line
    // and after the poll phase (setImmediate): bytes that waited while the event loop was busy come first
    this.partialTimer = setInterval(() => {
      setImmediate(() => {
        // not while ssh's output waits unread (the lines read wait for the hub): the rest of the
        // line may be in the pipe, and a line was cut in two (its halves shipped as two lines)
        if (this.streaming && !this.hold.holding) this.place.feed.flushIfIdle(this.o.partialTimeoutMs ?? 1000);
      });
    }, 100);
  }

  /**
   * Ends the connection once the remote file is read to its end (stop.ts), or after its time by
   * killing ssh and its group; waits for it. With `flush`, a partial last line is a line.
   */
  async stop(flush: boolean): Promise<void> {
    const stopping = (this.stopping = new Stopping());
    clearTimeout(this.retry);
    clearInterval(this.partialTimer);
    await stopping.drain(
      () => this.session,
      () => this.exited,
    );
    if (flush) this.place.feed.flush();
    if (!stopping.drained && this.answered) {
      const o = { url: this.o.target.url, path: this.o.target.path, sshCommand: this.o.sshCommand ?? 'ssh', lines: this.o.lines, onState: this.o.onState };
      await sayUnread(o, this.place, (script) => this.sshArgs(script), flush);
    }
  }

  /** Where the file stands once the hub has every record up to `seq`; `sending`: not yet, only asked. */
  deliveredUpTo(seq: number, sending = false): FileCheckpoint[] {
    return this.place.deliveredUpTo(seq, sending);
  }

  /** Drops the connection as a network would (tests): the follower connects again by itself. */
  dropConnection(): void {
    this.session?.kill('SIGKILL');
  }

  /** ssh's command line running `script` on the host. */
  private sshArgs(script: string): string[] {
    return sshCommandLine(this.o.target, this.o.sshArgs ?? [], script);
  }

  private connect(draining = false): void {
    if (this.stopping !== undefined && !draining) return;
    this.stats.connections++;
    let appeared: string | undefined;
    const session: SshSession = new SshSession(this.o.sshCommand ?? 'ssh', this.sshArgs(remoteScript({ path: this.o.target.path, ...this.place.start() })), this.o.target.url, {
      header: (header) => {
        if (header !== undefined) return this.begin(header);
        this.o.onState?.(`${this.o.target.url}: unexpected answer from the remote side`);
        session.kill('SIGTERM');
      },
      bytes: (chunk) => {
        this.stats.bytes += chunk.length;
        this.place.feed.take(chunk);
        if (this.o.busy?.()) this.hold.hold(session);
      },
      note: (note: ScriptNote) => {
        if (note.kind === 'looked') this.lookedAt = Date.now();
        else if (note.kind === 'appeared') appeared = note.ino;
        else if (note.kind === 'say') this.o.lines.system(note.message, 'WARNING');
        else if (note.kind === 'startedOver') this.o.lines.system(this.place.startedOver(note.message, this.stats.connections === 1), 'WARNING');
        else this.place.note(note);
      },
      closed: (code, got, errors, answered) => {
        if (this.session === session) this.session = undefined;
        // a session that streamed looked to the end; one that never brought a header (the host
        // refused or could not be reached) is a look too: nothing could have been seen, and a host
        // that never answers must not keep --until-idle waiting for ever
        if (this.streaming || !answered) this.lookedAt = Date.now();
        this.streaming = false;
        this.ended(code, got, errors, appeared);
      },
    }, draining);
    this.session = session;
    this.exited = session.exited;
  }

  /** The header of a session: where its bytes start and what file they are. */
  private begin({ state, ino, offset, fp, fpLen }: RemoteHeader): void {
    this.answered = true;
    if (state === 'missing') {
      this.lookedAt = Date.now();
      this.o.onState?.(noFileYet(this.o.target.url));
      return;
    }
    this.streaming = true;
    this.place.begin(state, Number(ino), offset, fp, fpLen, this.stats.connections === 1);
  }

  private ended(code: number | null, got: number, errors: string, appeared: string | undefined): void {
    if (this.stopping !== undefined) {
      if (this.stopping.readOn(code) && this.moveOn(code, appeared)) this.connect(true);
      return;
    }
    if (this.moveOn(code, appeared)) {
      this.backoff = MIN_BACKOFF_MS;
      this.connect();
      return;
    }
    if (got > 0) this.backoff = MIN_BACKOFF_MS;
    const why = code === MISSING_EXIT ? 'no such file yet' : errors || `ssh exited with ${code}`;
    this.o.onState?.(`${this.o.target.url}: ${why}; connecting again in ${this.backoff} ms`);
    this.retry = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  /** The session ended on something to read next (place.ts: advance): true when the next session comes at once. */
  private moveOn(code: number | null, appeared: string | undefined): boolean {
    if (code === APPEARED_EXIT && appeared !== undefined) this.lookedAt = Date.now();
    return this.place.advance(code, appeared);
  }
}
