/**
 * The notes the remote script (remote.ts) writes on stderr, read out of a chunk of it: what the
 * follower learns (a truncation, the next file, a file that appeared) and what it says in the run
 * (a loss, as a `system` WARNING line). What is left is ssh's own text (kept for the message on
 * exit), without the keep-alive dots.
 */

export type ScriptNote =
  | { kind: 'truncated'; copy: boolean; offset: number; fp: string; fpLen: number; birth: string }
  | { kind: 'siblings'; ino: number; siblings: string[] }
  | { kind: 'next'; ino: string; fp: string; fpLen: number; birth: string }
  | { kind: 'looked' }
  | { kind: 'appeared'; ino: string }
  | { kind: 'say'; message: string };

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
    kind: 'say',
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
