/**
 * RemotePlace: where an ssh follower stands in the remote file, and what it knows of the files
 * around it — everything a session's script is started with (remote.ts) and everything a
 * checkpoint keeps (deliveredUpTo).
 *
 * The bytes themselves go through the LineFeed (feed.ts), the same as for a local file: its offset
 * counts bytes received of the file the session reads, and its delivery marks say where the file
 * stands once the hub has a seq. Around it this keeps what the sessions taught: the file the name
 * pointed to next (RUNLOG-NEXT), the rotated files read to their end since (`done`), the copies an
 * unread file had when it was seen empty (RUNLOG-SIBS), the last truncation (RUNLOG-TRUNC) and the
 * birth time it saw. A session's header (begin) and the way it ended (advance) move the place on.
 *
 * Checkpointed: what deliveredUpTo returns, called once the hub acknowledged a batch (and with
 * `sending` before it is sent): the delivered mark (inode, first bytes, offset), the bytes received
 * (`size`: a loss is counted from it after a reset), the fingerprint of the bytes before the offset
 * (`tail_fp`: tells a copytruncate's copy on a restart) and, for a file nothing of which was read,
 * its copies then (`siblings`). The rest (next, done, truncation, birth) lives only here: a crash
 * or a killed ssh loses it, and the next session learns it again from the host (at the cost, after
 * a restart, of reading a file rotated twice meanwhile through the `moved` path: remote.ts).
 */
import { fingerprint, type FileCheckpoint } from '../file/checkpoint.js';
import { LineFeed, type DeliveryMark } from '../file/feed.js';
import type { LineTarget } from '../file/follower.js';
import { APPEARED_EXIT, ROTATED_EXIT, SIBLING_EXIT, TRUNCATED_EXIT, type RemoteHeader, type RemoteStart } from './remote.js';
import type { ScriptNote } from './notes.js';
import { changedWhileUnfollowed, truncatedWithoutCopy } from '../said.js';

/** no next file known (RUNLOG-NEXT not said, or that file read already) */
const NO_NEXT: Readonly<{ ino: string; fp: string; fpLen: number; birth: string }> = { ino: '-', fp: '-', fpLen: 0, birth: '-' };

/** RUNLOG-TRUNC: was a copy found with what was not read, and the file's first bytes and birth time after it */
type Truncation = { copy: boolean; offset: number; fp: string; fpLen: number; birth: string };

export class RemotePlace {
  readonly feed: LineFeed;
  private delivered: DeliveryMark;
  /** the last session ended because the name points to another file: its start is no loss */
  private rotated = false;
  /** the file the name pointed to next, as the last session saw it: its inode and first bytes (remote.ts: RUNLOG-NEXT) */
  private next = NO_NEXT;
  /** rotated files read to their end since the name's file was read last (remote.ts: `done`) */
  private done: string[] = [];
  /** nothing of the name's file (inode) read yet: its rotated copies then, to tell the ones made since (remote.ts: RUNLOG-SIBS) */
  private unread: { ino: number; siblings: string[] } | undefined;
  /** the last session ended on a truncation: was a copy found with what it had not read? */
  private truncation: Truncation | undefined;
  /** the birth time of the file read (inode), as the last truncation saw it: a new file on its inode number is told by it */
  private birth: { ino: number; value: string } | undefined;
  /** start at the end: only for the first connection of a follower with no checkpoint */
  private fromEnd: boolean;
  /** the file's size when the checkpoint was written (counting a loss on reset) */
  private readonly resumedSize: number | undefined;
  /** the checkpoint's fingerprint of the bytes before its offset: until the feed has read some itself */
  private readonly resumedTail: { ino: number; offset: number; tail_fp: string; tail_len: number } | undefined;

  constructor(
    private readonly url: string,
    private readonly lines: LineTarget,
    resume: FileCheckpoint | undefined,
    fromEnd: boolean,
    maxLineBytes: number | undefined,
  ) {
    const identity = resume ? { dev: 0, ino: resume.ino, fp: resume.fp, fp_len: resume.fp_len } : { dev: 0, ino: -1, fp: '', fp_len: 0 };
    const source = lines.source('file', { path: url });
    this.feed = new LineFeed(source, () => lines.lastSeq, identity, resume?.offset ?? 0, maxLineBytes);
    this.delivered = { ...identity, seq: lines.lastSeq, offset: resume?.offset ?? 0 };
    this.fromEnd = resume === undefined && fromEnd;
    if (resume?.siblings !== undefined && resume.offset === 0 && resume.fp_len === 0) this.unread = { ino: resume.ino, siblings: resume.siblings };
    this.resumedSize = resume?.size;
    if (resume?.tail_fp !== undefined && resume.tail_len !== undefined) {
      this.resumedTail = { ino: resume.ino, offset: resume.offset, tail_fp: resume.tail_fp, tail_len: resume.tail_len };
    }
  }

  /** Where the file stands once the hub has every record up to `seq`; `sending`: not yet, only asked. */
  deliveredUpTo(seq: number, sending: boolean): FileCheckpoint[] {
    const mark = this.feed.delivered(seq, sending) ?? this.delivered;
    if (!sending) this.delivered = mark;
    const unread = this.unreadAt(mark);
    return [{ path: this.url, ...mark, size: this.feed.offset, ...this.tailAt(mark), ...(unread ? { siblings: unread } : {}) }];
  }

  /** What the next session's script starts from (all but the path). */
  start(): Omit<RemoteStart, 'path'> {
    const identity = this.feed.identity;
    const tail = this.tailAt({ ino: identity.ino, offset: this.feed.offset });
    return {
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
    };
  }

  /** What a stop's survey (survey.ts) counts from: the file read last, how far, the rotated ones done. */
  surveyStart(): { ino: string; offset: number; done: readonly string[] } {
    const { ino } = this.feed.identity;
    return { ino: ino === -1 ? '-' : String(ino), offset: this.feed.offset, done: this.done };
  }

  /** A note of the script that the place keeps (the others are the follower's: looked, appeared, say). */
  note(note: ScriptNote): void {
    if (note.kind === 'truncated') this.truncation = note;
    else if (note.kind === 'siblings') this.unread = note;
    else if (note.kind === 'next') this.next = note;
  }

  /**
   * The header of a session (not `missing`): where its bytes start and what file they are.
   * `first`: the follower's first connection (a loss on reset is counted from the checkpoint's size).
   */
  begin(state: Exclude<RemoteHeader['state'], 'missing'>, ino: number, offset: number, fp: string, fpLen: number, first: boolean): void {
    const identity = { dev: 0, ino, fp, fp_len: fpLen };
    if (state === 'sibling') {
      // the next file, rotated away unread: whole, from its first byte; the name's file comes after
      this.feed.flush();
      this.feed.lastGrowthAt = Date.now();
      this.feed.restart(identity, 0, true);
      return;
    }
    if (state === 'reset') {
      const before = this.feed.offset;
      this.feed.flush();
      if (!this.rotated) {
        const counted = this.resumedSize !== undefined && first ? Math.max(0, this.resumedSize - before) : 0;
        this.lines.system(changedWhileUnfollowed(this.url, before, counted), 'WARNING');
      }
    }
    if (state !== 'moved') this.done = [];
    this.rotated = false;
    this.fromEnd = false;
    this.feed.lastGrowthAt = Date.now(); // the partial timeout counts from now
    if (state === 'reset' || this.feed.identity.ino !== ino || this.feed.offset !== offset) this.feed.restart(identity, offset, true);
    else this.feed.identity = identity.fp_len >= this.feed.identity.fp_len ? identity : this.feed.identity;
  }

  /**
   * The file started over before anything of it was read (RUNLOG-RETRUNC: other first bytes at
   * offset 0, no copy with the old ones). On the first connection after a restart that is the
   * checkpoint's file changed while the follower was stopped, said as any such change (and as the
   * local follower says it); later, it was truncated again while a connection was made: `message`.
   */
  startedOver(message: string, first: boolean): string {
    // (the checkpoint's size counts what was lost: nothing of the file was read, offset 0)
    return first && this.resumedSize !== undefined ? changedWhileUnfollowed(this.url, 0, this.resumedSize) : message;
  }

  /**
   * A session ended with `code`: when it says what comes next (a rotation, a sibling read whole, a
   * truncation, a file that appeared), the place moves on to it and true says: connect again now.
   */
  advance(code: number | null, appeared: string | undefined): boolean {
    if (code === APPEARED_EXIT && appeared !== undefined) {
      // the file the session waited for is there: read now. Nothing known of the name before (a
      // first start), or the file before it read to its end (deleted, the name gone a while): it
      // is the next file, whole (not from its end), and when it was rotated away before the next
      // session began, that one finds it beside the name by its inode
      if (this.feed.identity.ino === -1 || this.rotated) {
        this.fromEnd = false;
        this.rotated = true;
        this.next = { ino: appeared, fp: '-', fpLen: 0, birth: '-' };
      }
      return true;
    }
    if (code === TRUNCATED_EXIT && this.truncation !== undefined) {
      this.truncatedWhileFollowed(this.truncation);
      return true;
    }
    if (code === ROTATED_EXIT || code === SIBLING_EXIT) {
      // the old file (or the next one, read whole from beside the name) is done: its partial last
      // line is a line, and the name's file comes next from its start, no loss
      this.feed.flush();
      this.unread = undefined;
      this.rotated = true;
      this.done = [...this.done.slice(-15), String(this.feed.identity.ino)];
      if (code === SIBLING_EXIT) this.next = NO_NEXT;
      return true;
    }
    return false;
  }

  /**
   * Truncated while followed (RUNLOG-TRUNC): what a copy had was sent; the file is read again from
   * its start (a partial last line stays held when a copy was found: a copytruncate writer goes on
   * with it; else it is a line of its own).
   */
  private truncatedWhileFollowed({ copy, offset, fp, fpLen, birth }: Truncation): void {
    if (!copy) this.lines.system(truncatedWithoutCopy(this.url, offset), 'WARNING');
    this.truncation = undefined;
    this.birth = { ino: this.feed.identity.ino, value: birth };
    this.unread = undefined; // the copy just read is not one made since: the next session lists them again
    // the new first bytes, if any yet: the next session checks the file still starts with them
    this.feed.restart({ dev: 0, ino: this.feed.identity.ino, fp: fpLen > 0 ? fp : '', fp_len: fpLen }, 0, copy);
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
}
