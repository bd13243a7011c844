import { describe, expect, it } from 'vitest';
import { readNotes } from './notes.js';

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
    expect(notes).toEqual([{ kind: 'say', message: expect.stringMatching(/^ssh:\/\/h\/a\.log: started over before it could be read \(truncated, or deleted and made again on the same inode number/) }]);
  });
});
