import { describe, expect, it } from 'vitest';
import { NoteStream, readNotes, type ScriptNote } from './notes.js';

describe("the remote script's notes on stderr", () => {
  it('reads each note out of the text, in order, and leaves ssh’s own text without the keep-alive dots', () => {
    const { notes, rest } = readNotes('RUNLOG-NEXT 12 5 abc 1796292664437191121\nRUNLOG-REBORN 12\nRUNLOG-TRUNC none 40 3 def\nRUNLOG-LOOK\n', 'ssh://h/a.log');
    expect(notes).toEqual([
      { kind: 'truncated', copy: false, offset: 40, fp: 'def', fpLen: 3, birth: '-' },
      {
        kind: 'say',
        message: 'ssh://h/a.log: a file that was under its name (inode 12) was deleted before it could be read, and a new file took its inode number: its lines could not be read',
      },
      { kind: 'next', ino: '12', fp: 'abc', fpLen: 5, birth: '1796292664437191121' },
      { kind: 'looked' },
    ]);
    expect(rest).toBe('');
    expect(readNotes('...', 'u').rest).toBe('');
    expect(readNotes('Connection refused\n', 'u').rest).toBe('Connection refused\n');
  });

  it('says a file that started over without saying it was truncated again: without birth times it may be a new file on the same inode number', () => {
    const { notes } = readNotes('RUNLOG-RETRUNC\n', 'ssh://h/a.log');
    expect(notes).toEqual([{ kind: 'startedOver', message: expect.stringMatching(/^ssh:\/\/h\/a\.log: started over before it could be read \(truncated, or deleted and made again on the same inode number/) }]);
  });

  it('reads a note cut between two reads of stderr as one, wherever the cut falls (a piece of it was misread or lost)', () => {
    const text = '..RUNLOG-NEXT 12 5 abc 1796292664437191121\nssh: é warning\nRUNLOG-SIBS 7 8 9\n.RUNLOG-APPEARED 44\nRUNLOG-LOOK';
    const all = (reads: Buffer[]) => {
      const stream = new NoteStream('ssh://h/a.log');
      const notes: ScriptNote[] = [];
      let rest = '';
      for (const read of [...reads.map((chunk) => stream.read(chunk)), stream.end()]) {
        notes.push(...read.notes);
        rest += read.rest;
      }
      return { notes, rest: rest.replace(/\./g, '') };
    };
    const bytes = Buffer.from(text);
    const whole = all([bytes]);
    expect(whole.notes.map((note) => note.kind).sort()).toEqual(['appeared', 'looked', 'next', 'siblings']);
    expect(whole.rest).toContain('ssh: é warning');
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = all([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(split.notes, `cut at byte ${cut}`).toEqual(expect.arrayContaining(whole.notes));
      expect(split.notes).toHaveLength(whole.notes.length);
      expect(split.rest, `cut at byte ${cut}`).toBe(whole.rest);
    }
  });
});
