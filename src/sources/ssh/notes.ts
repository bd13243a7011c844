/**
 * The notes the remote script (remote.ts) writes on stderr, read out of a chunk of it: what the
 * follower learns (a truncation, the next file, a file that appeared) and what it says in the run
 * (a loss, as a `system` WARNING line). What is left is ssh's own text (kept for the message on
 * exit), without the keep-alive dots.
 */
import { StringDecoder } from 'node:string_decoder';

export type ScriptNote =
  | { kind: 'truncated'; copy: boolean; offset: number; fp: string; fpLen: number; birth: string }
  | { kind: 'siblings'; ino: number; siblings: string[] }
  | { kind: 'next'; ino: string; fp: string; fpLen: number; birth: string }
  | { kind: 'looked' }
  | { kind: 'appeared'; ino: string }
  | { kind: 'say'; message: string }
  /** RUNLOG-RETRUNC: nothing of the file read, and it starts with other bytes than it did (`message`: said so while followed) */
  | { kind: 'startedOver'; message: string };

export function readNotes(chunk: string, url: string): { notes: ScriptNote[]; rest: string } {
  const notes: ScriptNote[] = [];
  const take = (pattern: RegExp, note: (...groups: string[]) => ScriptNote) => {
    text = text.replace(pattern, (_, ...groups: unknown[]) => {
      notes.push(note(...groups.map((group) => (typeof group === 'string' ? group : ''))));
      return '';
    });
  };
  let text = chunk;
  take(/RUNLOG-TRUNC (copy|none) (\d+) (\d+) (\S+)(?: (\S+))?\n?/g, (copy, offset, fpLen, fp, birth) => ({
    kind: 'truncated',
    copy: copy === 'copy',
    offset: Number(offset),
    fp: fp ?? '',
    fpLen: Number(fpLen),
    birth: birth || '-',
  }));
  take(/RUNLOG-SIBS (\d+)([\d ]*)\n?/g, (ino, list) => ({ kind: 'siblings', ino: Number(ino), siblings: (list ?? '').split(' ').filter(Boolean) }));
  // (a file system that keeps no birth times cannot tell a truncation from a new file on the same inode number)
  take(/RUNLOG-RETRUNC\n?/g, () => ({
    kind: 'startedOver',
    message: `${url}: started over before it could be read (truncated, or deleted and made again on the same inode number: its first bytes differ), and no copy of it was found beside it: what was written to it before could not be read`,
  }));
  take(/RUNLOG-REBORN (\S+)\n?/g, (ino) => ({
    kind: 'say',
    message: `${url}: a file that was under its name (inode ${ino}) was deleted before it could be read, and a new file took its inode number: its lines could not be read`,
  }));
  take(/RUNLOG-(NEXT|LOST) (\S+)(?: (\d+) (\S+)(?: (\S+))?)?\n?/g, (what, ino, fpLen, fp, birth) =>
    what === 'NEXT'
      ? { kind: 'next', ino: ino ?? '-', fp: fp || '-', fpLen: Number(fpLen || 0), birth: birth || '-' }
      : {
          kind: 'say',
          message: `${url}: a file that was under its name (inode ${ino}) was rotated away or deleted before it could be read, and is not beside it any more: its lines could not be read`,
        },
  );
  // the remote side waits for a file not there yet: it looked (--until-idle counts from its looks)
  take(/RUNLOG-LOOK\n?/g, () => ({ kind: 'looked' }));
  take(/RUNLOG-APPEARED (\S+)\n?/g, (ino) => ({ kind: 'appeared', ino: ino ?? '-' }));
  return { notes, rest: text.replace(/^\.+$/, '') };
}

/**
 * The script's stderr read a whole line at a time: a note is one line, and a read may end inside
 * it (ssh forwards stderr in pieces of its own choosing). Only the start of a note waits for its
 * line end; ssh's own text and the keep-alive dots go on at once. A character cut between two
 * reads is put back together.
 */
export class NoteStream {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly url: string) {}

  read(chunk: Buffer): { notes: ScriptNote[]; rest: string } {
    let text = this.pending + this.decoder.write(chunk);
    this.pending = '';
    const cut = text.lastIndexOf('\n');
    const tail = text.slice(cut + 1).replace(/^\.+/, '');
    if (tail !== '' && (tail.startsWith('RUNLOG-') || 'RUNLOG-'.startsWith(tail))) {
      this.pending = text.slice(cut + 1);
      text = text.slice(0, cut + 1);
    }
    return readNotes(text, this.url);
  }

  /** What is left once the stream ended (a last note without its line end is read as it is). */
  end(): { notes: ScriptNote[]; rest: string } {
    const text = this.pending + this.decoder.end();
    this.pending = '';
    return readNotes(text, this.url);
  }
}
