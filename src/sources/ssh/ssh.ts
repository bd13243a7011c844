/**
 * SshFollower: a file on another machine, through the system's `ssh`, → the same LineFeed as a
 * local file.
 *
 * ssh runs with BatchMode (never a prompt), the user's keys and ~/.ssh/config, ServerAliveInterval
 * (a dead link is noticed in ~15 s) and compression (log text shrinks several times, so the bytes
 * on the wire stay near or below the file's growth). Options given with --ssh-option come first, and
 * ssh keeps the first value it reads for an option, so they win. The remote script (remote.ts)
 * streams from the byte after the last one received; when ssh ends for any reason the follower
 * connects again with backoff (250 ms, or RUNLOG_SSH_RETRY_MS, doubling to 10 s, reset by a session that brought bytes),
 * from that same byte, so nothing is fetched twice and what was written meanwhile comes then.
 * Stop closes ssh's stdin: the remote script reads the file to its end and exits (remote.ts), so
 * lines written just before a stop are not lost; after STOP_DRAIN_MS ssh's process group is killed
 * whole, and stop waits for it to exit. A watchdog (process/watchdog.ts) kills it when the follower
 * dies without stopping (SIGKILL). For --until-idle, only time the remote side looked at the file
 * counts as idle (lastGrowthAt).
 */
import type { ChildProcess } from 'node:child_process';
import { spawnWatched } from '../process/watchdog.js';
import { fingerprint, type FileCheckpoint } from '../file/checkpoint.js';
import { LineFeed, type DeliveryMark } from '../file/feed.js';
import { BUSY_RETRY_MS, type LineTarget } from '../file/follower.js';
import { sshCommandLine, type SshTarget } from './url.js';
import { APPEARED_EXIT, MISSING_EXIT, parseHeader, remoteScript, ROTATED_EXIT, SIBLING_EXIT, TRUNCATED_EXIT } from './remote.js';
import { NoteStream } from './notes.js';
import { surveyScript, surveyUnread, unreadMessage } from './survey.js';

export { parseSshUrl, type SshTarget } from './url.js';

/** no next file known (RUNLOG-NEXT not said, or that file read already) */
const NO_NEXT: Readonly<{ ino: string; fp: string; fpLen: number; birth: string }> = { ino: '-', fp: '-', fpLen: 0, birth: '-' };

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
/** how long a stop waits for the remote script to read the file to its end (a slow link, a big rest) */
const STOP_DRAIN_MS = 5_000;

function retryMs(text: string | undefined): number | undefined {
  const ms = Number(text);
  return text !== undefined && text !== '' && Number.isSafeInteger(ms) && ms >= 10 && ms <= 60_000 ? ms : undefined;
}

export class SshFollower {
  readonly stats = { connections: 0, bytes: 0 };
  private readonly feed: LineFeed;
  private delivered: DeliveryMark;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = false;
  /** stopping: until then, files rotated after the one read are read too (see stop()) */
  private drainUntil = 0;
  /** stopping: the last session read the file to its end (nothing left, as far as it could see) */
  private drained = false;
  /** some session's header came: the host answers and the name was looked at */
  private answered = false;
  private backoff = MIN_BACKOFF_MS;
  private retry: NodeJS.Timeout | undefined;
  private partialTimer: NodeJS.Timeout | undefined;
  /** the last session ended because the name points to another file: its start is no loss */
  private rotated = false;
  /** the file the name pointed to next, as the last session saw it: its inode and first bytes (remote.ts: RUNLOG-NEXT) */
  private next = NO_NEXT;
  /** rotated files read to their end since the name's file was read last (remote.ts: `done`) */
  private done: string[] = [];
  /** nothing of the name's file (inode) read yet: its rotated copies then, to tell the ones made since (remote.ts: RUNLOG-SIBS) */
  private unread: { ino: number; siblings: string[] } | undefined;
  /** the last session ended on a truncation: was a copy found with what it had not read? */
  private truncation: { copy: boolean; offset: number; fp: string; fpLen: number; birth: string } | undefined;
  /** the birth time of the file read (inode), as the last truncation saw it: a new file on its inode number is told by it */
  private birth: { ino: number; value: string } | undefined;
  /** ssh's output is not read for now (holdOutput): the lines read wait for the hub */
  private holding = false;
  /** a session's header came: bytes flow now (and the remote side looks at the file 4–10 times a second) */
  private streaming = false;
  /** when the remote side last looked (a `missing` header, the end of a session that streamed) */
  private lookedAt: number | undefined;
  /** start at the end: only for the first connection of a follower with no checkpoint */
  private fromEnd: boolean;
  /** the file's size when the checkpoint was written (counting a loss on reset) */
  private readonly resumedSize: number | undefined;
  /** the checkpoint's fingerprint of the bytes before its offset: until the feed has read some itself */
  private readonly resumedTail: { ino: number; offset: number; tail_fp: string; tail_len: number } | undefined;

  constructor(private readonly o: SshFollowerOptions) {
    const resume = o.resume;
    const identity = resume ? { dev: 0, ino: resume.ino, fp: resume.fp, fp_len: resume.fp_len } : { dev: 0, ino: -1, fp: '', fp_len: 0 };
    const source = o.lines.source('file', { path: o.target.url });
    this.feed = new LineFeed(source, () => o.lines.lastSeq, identity, resume?.offset ?? 0, o.maxLineBytes);
    this.delivered = { ...identity, seq: o.lines.lastSeq, offset: resume?.offset ?? 0 };
    this.fromEnd = resume === undefined && (o.fromEnd ?? false);
    if (resume?.siblings !== undefined && resume.offset === 0 && resume.fp_len === 0) this.unread = { ino: resume.ino, siblings: resume.siblings };
    this.resumedSize = resume?.size;
    if (resume?.tail_fp !== undefined && resume.tail_len !== undefined) {
      this.resumedTail = { ino: resume.ino, offset: resume.offset, tail_fp: resume.tail_fp, tail_len: resume.tail_len };
    }
  }

  /** The ssh process now, if any (tests check that none is left). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * When the file last grew, for --until-idle, counting only time the remote side looked: while it
   * does not (ssh connecting, waiting to look again for a name not there yet), idle time stands
   * still at what the last look saw, so a file that appears meanwhile is not missed by a stop.
   */
  get lastGrowthAt(): number {
    if (this.streaming) return this.feed.lastGrowthAt;
    const now = Date.now();
    if (this.lookedAt === undefined) return now; // nothing looked at yet: not idle
    return now - Math.max(0, this.lookedAt - this.feed.lastGrowthAt);
  }

  start(): void {
    this.connect();
    // only while connected: a line cut by a lost connection is not a writer that stopped mid-line
    // and after the poll phase (setImmediate): bytes that waited while the event loop was busy come first
    this.partialTimer = setInterval(() => {
      setImmediate(() => {
        // not while ssh's output waits unread (the lines read wait for the hub): the rest of the
        // line may be in the pipe, and a line was cut in two (its halves shipped as two lines)
        if (this.streaming && !this.holding) this.feed.flushIfIdle(this.o.partialTimeoutMs ?? 1000);
      });
    }, 100);
  }

  /**
   * Ends the connection once the remote file is read to its end (its stdin closed: remote.ts), or
   * after STOP_DRAIN_MS by killing ssh and its group; waits for it. With `flush`, a partial last
   * line is a line.
   */
  async stop(flush: boolean): Promise<void> {
    this.stopped = true;
    this.drainUntil = Date.now() + STOP_DRAIN_MS;
    clearTimeout(this.retry);
    clearInterval(this.partialTimer);
    this.child?.stdin?.end();
    let killer: NodeJS.Timeout | undefined;
    const drain = setTimeout(() => {
      this.kill('SIGTERM');
      killer = setTimeout(() => this.kill('SIGKILL'), 2000);
    }, STOP_DRAIN_MS);
    // the session may end on a rotation: the files after it are read by sessions of their own (ended())
    for (let exited = this.exited; ; exited = this.exited) {
      await exited;
      if (this.exited === exited) break;
    }
    clearTimeout(drain);
    clearTimeout(killer);
    if (flush) this.feed.flush();
    if (!this.drained && this.answered) await this.sayUnread(flush);
  }

  /**
   * The stop's time ran out before the remote side read to the end (a follower far behind: a big
   * file, rotated copies piled up), or the connection was down: what is left is counted on the host
   * and said in the run, so that nobody takes the run for complete. The checkpoint keeps the place:
   * a restart reads it (unless the run was ended).
   */
  private async sayUnread(ended: boolean): Promise<void> {
    const { ino } = this.feed.identity;
    const offset = this.feed.offset;
    const script = surveyScript({ path: this.o.target.path, ino: ino === -1 ? '-' : String(ino), offset, done: this.done });
    const message = unreadMessage(this.o.target.url, offset, await surveyUnread(this.o.sshCommand ?? 'ssh', this.sshArgs(script)), ended);
    if (message === undefined) return;
    this.o.lines.system(message, 'WARNING');
    this.o.onState?.(message);
    // the note took a seq after the file's last line: a restart numbers on after it, not onto it
    this.feed.remark();
  }

  /** Where the file stands once the hub has every record up to `seq`; `sending`: not yet, only asked. */
  deliveredUpTo(seq: number, sending = false): FileCheckpoint[] {
    const mark = this.feed.delivered(seq, sending) ?? this.delivered;
    if (!sending) this.delivered = mark;
    const unread = this.unreadAt(mark);
    return [{ path: this.o.target.url, ...mark, size: this.feed.offset, ...this.tailAt(mark), ...(unread ? { siblings: unread } : {}) }];
  }

  /** The copies a file nothing of which was read yet had when it was seen empty (none else). */
  private unreadAt(at: { ino: number; offset: number; fp_len: number }): string[] | undefined {
    return at.offset === 0 && at.fp_len === 0 && this.unread?.ino === at.ino ? this.unread.siblings : undefined;
  }

  /**
   * The fingerprint of the bytes before `at.offset` in its file (the feed keeps the last KiB it
   * read): a restart after a copytruncate tells the real copy by it (remote.ts).
   */
  private tailAt(at: { ino: number; offset: number }): { tail_fp?: string; tail_len?: number } {
    const tail = this.feed.tail;
    const behind = this.feed.offset - at.offset;
    if (at.ino === this.feed.identity.ino && behind >= 0 && behind < tail.length) {
      const bytes = tail.subarray(0, tail.length - behind);
      return { tail_fp: fingerprint(bytes), tail_len: bytes.length };
    }
    const resumed = this.resumedTail;
    if (resumed !== undefined && resumed.ino === at.ino && resumed.offset === at.offset) return { tail_fp: resumed.tail_fp, tail_len: resumed.tail_len };
    return {};
  }

  /** Drops the connection as a network would (tests): the follower connects again by itself. */
  dropConnection(): void {
    this.kill('SIGKILL');
  }

  private args(): string[] {
    const t = this.o.target;
    const identity = this.feed.identity;
    const tail = this.tailAt({ ino: identity.ino, offset: this.feed.offset });
    const script = remoteScript({
      path: t.path,
      offset: this.fromEnd ? 0 : this.feed.offset,
      ino: identity.ino === -1 ? '-' : String(identity.ino),
      fp: identity.fp || '-',
      fpLen: identity.fp_len,
      fromEnd: this.fromEnd,
      next: this.rotated ? this.next.ino : '-',
      nextFp: this.next.fp,
      nextFpLen: this.next.fpLen,
      nextBirth: this.next.birth,
      birth: this.birth?.ino === identity.ino ? this.birth.value : undefined,
      done: this.done,
      tailFp: this.fromEnd ? undefined : tail.tail_fp,
      tailLen: tail.tail_len,
      siblings: this.fromEnd ? undefined : this.unreadAt({ ...identity, offset: this.feed.offset }),
    });
    return this.sshArgs(script);
  }

  /** ssh's command line running `script` on the host. */
  private sshArgs(script: string): string[] {
    return sshCommandLine(this.o.target, this.o.sshArgs ?? [], script);
  }

  private connect(draining = false): void {
    if (this.stopped && !draining) return;
    this.stats.connections++;
    // with a watchdog: a follower killed by SIGKILL leaves no ssh behind (and so no script on the host)
    // stdin is a pipe that stays open while the follower runs: its end tells the script to stop
    const { child, settled } = spawnWatched(this.o.sshCommand ?? 'ssh', this.args(), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdin?.on('error', () => {}); // ssh gone already: it is waited for on 'close'
    if (draining) child.stdin?.end(); // read to the end, then stop
    let header: Buffer | undefined = Buffer.alloc(0);
    let got = 0;
    let errors = '';
    let appeared: string | undefined;
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
        if (parsed === undefined) {
          this.o.onState?.(`${this.o.target.url}: unexpected answer from the remote side`);
          this.kill('SIGTERM');
          return;
        }
        this.begin(parsed.state, Number(parsed.ino), parsed.offset, parsed.fp, parsed.fpLen);
        chunk = data.subarray(newline + 1);
      }
      got += chunk.length;
      this.stats.bytes += chunk.length;
      this.feed.take(chunk);
      if (this.o.busy?.()) this.holdOutput(child);
    });
    const stderr = new NoteStream(this.o.target.url);
    // the keep-alive dots are not news; the script's notes are read; anything else is kept for the message on exit
    const onStderr = ({ notes, rest: text }: ReturnType<NoteStream['read']>) => {
      for (const note of notes) {
        if (note.kind === 'truncated') this.truncation = note;
        else if (note.kind === 'siblings') this.unread = note;
        else if (note.kind === 'next') this.next = note;
        else if (note.kind === 'looked') this.lookedAt = Date.now();
        else if (note.kind === 'appeared') appeared = note.ino;
        else this.o.lines.system(note.message, 'WARNING');
      }
      if (text.trim() !== '') errors = (errors + text).slice(-500);
    };
    child.stderr?.on('data', (chunk: Buffer) => onStderr(stderr.read(chunk)));
    this.exited = new Promise((resolve) => {
      child.on('error', (error) => (errors += error.message));
      child.on('close', (code) => {
        onStderr(stderr.end());
        settled();
        if (this.child === child) this.child = undefined;
        // a session that streamed looked to the end; one that never brought a header (the host
        // refused or could not be reached) is a look too: nothing could have been seen, and a host
        // that never answers must not keep --until-idle waiting for ever
        if (this.streaming || header !== undefined) this.lookedAt = Date.now();
        this.streaming = false;
        // ssh's lines (a timeout says two) as one: each state is one stderr line of the follower's
        this.ended(code, got, errors.split(/\r?\n/).map((line) => line.trim()).filter(Boolean).join('; '), appeared);
        resolve();
      });
    });
  }

  /** The header of a session: where its bytes start and what file they are. */
  private begin(state: 'ok' | 'reset' | 'missing' | 'sibling' | 'moved', ino: number, offset: number, fp: string, fpLen: number): void {
    if (state === 'missing') {
      this.answered = true;
      this.lookedAt = Date.now();
      this.o.onState?.(`${this.o.target.url}: ${this.o.target.path} does not exist (yet); it is read once it appears`);
      return;
    }
    this.answered = true;
    const identity = { dev: 0, ino, fp, fp_len: fpLen };
    if (state === 'sibling') {
      // the next file, rotated away unread: whole, from its first byte; the name's file comes after
      this.feed.flush();
      this.streaming = true;
      this.feed.lastGrowthAt = Date.now();
      this.feed.restart(identity, 0, true);
      return;
    }
    if (state === 'reset') {
      const before = this.feed.offset;
      this.feed.flush();
      if (!this.rotated) {
        const counted = this.resumedSize !== undefined && this.stats.connections === 1 ? Math.max(0, this.resumedSize - before) : 0;
        const lost = counted > 0 ? ` ${counted} bytes after byte ${before}, and whatever was written after them,` : ` what was written after byte ${before}`;
        this.o.lines.system(`${this.o.target.url}: truncated or replaced while not followed:${lost} could not be read`, 'WARNING');
      }
    }
    if (state !== 'moved') this.done = [];
    this.rotated = false;
    this.fromEnd = false;
    this.streaming = true;
    this.feed.lastGrowthAt = Date.now(); // the partial timeout counts from now
    if (state === 'reset' || this.feed.identity.ino !== ino || this.feed.offset !== offset) this.feed.restart(identity, offset, true);
    else this.feed.identity = identity.fp_len >= this.feed.identity.fp_len ? identity : this.feed.identity;
  }

  private ended(code: number | null, got: number, errors: string, appeared?: string): void {
    if (this.stopped) {
      // stopping: read to the end (exit 0), or no file to read (76)
      if (code === 0 || code === MISSING_EXIT) {
        this.drained = true;
        return;
      }
      // else, while the stop's time lasts, what comes next is read too: the file the name points
      // to now (a job's last rotations, a follower still behind them), the file again from its
      // start after a truncation just before the stop, a file that appeared as it came. Whatever
      // is left after that time is said by stop()
      if (Date.now() >= this.drainUntil) return;
      if (code === ROTATED_EXIT || code === SIBLING_EXIT) {
        this.movedOn(code);
        this.connect(true);
      } else if (code === TRUNCATED_EXIT && this.truncation !== undefined) {
        this.truncatedWhileFollowed();
        this.connect(true);
      } else if (code === APPEARED_EXIT && appeared !== undefined) {
        this.appeared(appeared);
        this.connect(true);
      }
      return;
    }
    if (code === APPEARED_EXIT && appeared !== undefined) {
      // the file the session waited for is there: read now. Nothing known of the name before (a
      // first start), or the file before it read to its end (deleted, the name gone a while): it
      // is the next file, whole (not from its end), and when it was rotated away before the next
      // session began, that one finds it beside the name by its inode
      this.appeared(appeared);
      this.backoff = MIN_BACKOFF_MS;
      this.connect();
      return;
    }
    if (code === TRUNCATED_EXIT && this.truncation !== undefined) {
      this.truncatedWhileFollowed();
      this.backoff = MIN_BACKOFF_MS;
      this.connect();
      return;
    }
    if (code === ROTATED_EXIT || code === SIBLING_EXIT) {
      this.movedOn(code);
      this.backoff = MIN_BACKOFF_MS;
      this.connect();
      return;
    }
    if (got > 0) this.backoff = MIN_BACKOFF_MS;
    const why = code === MISSING_EXIT ? `${this.o.target.path} does not exist (yet)` : errors || `ssh exited with ${code}`;
    this.o.onState?.(`${this.o.target.url}: ${why}; connecting again in ${this.backoff} ms`);
    this.retry = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  /** The file a session waited for is there (RUNLOG-APPEARED): the next session reads it. */
  private appeared(ino: string): void {
    this.lookedAt = Date.now();
    if (this.feed.identity.ino === -1 || this.rotated) {
      this.fromEnd = false;
      this.rotated = true;
      this.next = { ino, fp: '-', fpLen: 0, birth: '-' };
    }
  }

  /**
   * Truncated while followed (RUNLOG-TRUNC): what a copy had was sent; the file is read again from
   * its start (a partial last line stays held when a copy was found: a copytruncate writer goes on
   * with it; else it is a line of its own).
   */
  private truncatedWhileFollowed(): void {
    const { copy, offset, fp, fpLen, birth } = this.truncation!;
    if (!copy) {
      this.o.lines.system(`${this.o.target.url}: truncated; lines written after byte ${offset} before the truncation could not be read (no rotated copy found)`, 'WARNING');
    }
    this.truncation = undefined;
    this.birth = { ino: this.feed.identity.ino, value: birth };
    this.unread = undefined; // the copy just read is not one made since: the next session lists them again
    // the new first bytes, if any yet: the next session checks the file still starts with them
    this.feed.restart({ dev: 0, ino: this.feed.identity.ino, fp: fpLen > 0 ? fp : '', fp_len: fpLen }, 0, copy);
  }

  /**
   * The old file (or the next one, read whole from beside the name) is done: its partial last line
   * is a line, and the name's file comes next from its start, no loss.
   */
  private movedOn(code: number): void {
    this.feed.flush();
    this.unread = undefined;
    this.rotated = true;
    this.done = [...this.done.slice(-15), String(this.feed.identity.ino)];
    if (code === SIBLING_EXIT) this.next = NO_NEXT;
  }

  /** Reads no more of ssh's output until the lines read have gone on. */
  private holdOutput(child: ChildProcess): void {
    child.stdout?.pause();
    if (this.holding) return;
    this.holding = true;
    const check = setInterval(() => {
      if (this.o.busy?.() && this.child === child) return;
      clearInterval(check);
      this.holding = false;
      // the partial timeout counts from now: bytes that waited in the pipe are no writer stopped mid-line
      this.feed.lastGrowthAt = Date.now();
      child.stdout?.resume();
    }, BUSY_RETRY_MS);
  }

  private kill(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}
