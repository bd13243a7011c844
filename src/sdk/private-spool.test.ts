/**
 * createWorker's default spool was `<tmpdir>/runlog-spool`, one name in a folder every user writes
 * in: another user could make it first, as a symlink or an open folder of theirs, and the worker's
 * spool (opened `w+`) and seq file followed a link they planted there (truncating the file it
 * named) or were theirs to read. It is now `<tmpdir>/runlog-spool-<uid>`, 0700, refused when it is
 * not this user's private folder.
 */
import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { privateTempDir } from '../core/make-dir.js';
import { createWorker } from './worker.js';

const uid = process.getuid?.() ?? 0;
const base = () => mkdtempSync(join(tmpdir(), 'runlog-spool-test-'));

describe.skipIf(process.getuid === undefined)('the SDK worker’s default spool folder', () => {
  const saved = process.env.TMPDIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  });

  it('is <tmpdir>/runlog-spool-<uid>, made 0700', () => {
    const root = base();
    const dir = privateTempDir('runlog-spool', root);
    expect(dir).toBe(join(root, `runlog-spool-${uid}`));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(privateTempDir('runlog-spool', root)).toBe(dir);
  });

  it('is refused when another user made it first: a link, an open folder, or a folder of theirs', () => {
    const link = base();
    const elsewhere = join(link, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, join(link, `runlog-spool-${uid}`));
    expect(() => privateTempDir('runlog-spool', link)).toThrow(/symbolic link/);
    const open = base();
    mkdirSync(join(open, `runlog-spool-${uid}`));
    chmodSync(join(open, `runlog-spool-${uid}`), 0o777);
    expect(() => privateTempDir('runlog-spool', open)).toThrow(/mode 777/);
    if (uid === 0) {
      const theirs = base();
      mkdirSync(join(theirs, 'runlog-spool-0'), { mode: 0o700 });
      chownSync(join(theirs, 'runlog-spool-0'), 65534, 65534);
      expect(() => privateTempDir('runlog-spool', theirs)).toThrow(/owned by uid 65534/);
    }
  });

  it('stops createWorker at start rather than spool into a planted link', async () => {
    const root = base();
    mkdirSync(join(root, 'planted'), { mode: 0o700 });
    symlinkSync(join(root, 'planted'), join(root, `runlog-spool-${uid}`));
    process.env.TMPDIR = root;
    await expect(createWorker({ id: 'w-spool', hub: 'http://127.0.0.1:9', console: false })).rejects.toThrow(/not this user's private folder/);
  });
});
