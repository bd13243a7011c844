/** The survey script (survey.ts) run by the real sh here, on files laid out as a stop leaves them. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { surveyScript, unreadMessage } from './survey.js';

const survey = (path: string, ino: string, offset: number, done: string[] = []) =>
  execFileSync('sh', ['-c', surveyScript({ path, ino, offset, done })], { encoding: 'utf8' }).trim();

describe('the survey of what a stop left unread', () => {
  it('counts the rest of the file read, then the copies rotated after it (not older ones, not ones read) and the name’s file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-survey-'));
    const log = join(dir, 'app.log');
    const at = Date.now() / 1000 - 100;
    const files: [string, string, number][] = [
      [`${log}-00`, 'older rotation\n', at], // before the file read: not counted
      [`${log}-01`, 'the file read: 20 b\n', at + 1],
      [`${log}-02`, 'read whole already\n', at + 2],
      [`${log}-03`, 'left: 9\n', at + 3],
      [`${log}-04.gz`, 'compressed\n', at + 4],
    ];
    for (const [path, text, time] of files) {
      writeFileSync(path, text);
      utimesSync(path, time, time);
    }
    writeFileSync(log, 'name: 8\n');
    const ino = (path: string) => String(statSync(path).ino);
    expect(survey(log, ino(`${log}-01`), 10, [ino(`${log}-02`)])).toBe(`RUNLOG-LEFT 3 ${10 + 8 + 8}`);
    // the name's own file, read to byte 3: its rest only
    expect(survey(log, ino(log), 3)).toBe('RUNLOG-LEFT 1 5');
    expect(survey(log, ino(log), 8)).toBe('RUNLOG-LEFT 0 0');
    // nothing read yet: the name's file whole
    expect(survey(log, '-', 0)).toBe('RUNLOG-LEFT 1 8');
  });

  it('words the line: nothing when nothing was left, the restart only when the run goes on', () => {
    expect(unreadMessage('ssh://h/a.log', 5, { files: 0, bytes: 0 }, false)).toBeUndefined();
    expect(unreadMessage('ssh://h/a.log', 5, { files: 2, bytes: 30 }, false)).toBe(
      'ssh://h/a.log: stopped before the remote file was read to its end: 2 files with 30 bytes not read (from byte 5 of the one it was reading on); its checkpoint keeps the place: runlog follow started again for this run reads them',
    );
    expect(unreadMessage('ssh://h/a.log', 5, { error: 'Connection refused' }, true)).toBe(
      'ssh://h/a.log: stopped before the remote file was read to its end: what was written after byte 5 of the file it was reading not read, how much could not be learned (Connection refused)',
    );
  });
});
