/**
 * What runlog keeps on disk is its user's only. The hub's SQLite file, a runner's WAL and a worker's
 * spool hold every line the jobs printed (secrets included) and were made 0644 in 0755 folders:
 * any other user of the machine read them, around the hub's tokens. Folders runlog makes are now
 * 0700, and these files 0600, whatever the folder they are in (`--data` may name one that exists).
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { self } from '../src/pipeline/spool/owner.js';
import { Spool } from '../src/pipeline/spool/spool.js';
import { Wal } from '../src/pipeline/spool/wal.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { cli, tempDir } from './helpers.js';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('files that hold lines', () => {
  it('makes the hub’s data folder 0700 and its SQLite file (and its -wal) 0600', async () => {
    const data = join(tempDir('runlog-private-'), 'new', 'data');
    const made = await cli(['token', 'create', 'admin', '--scope', 'admin', '--hub', 'none', '--data', data]);
    expect(made.code).toBe(0);
    expect(mode(data)).toBe(0o700);
    expect(mode(join(data, 'runlog.db'))).toBe(0o600);
    // an open store's -wal and -shm (deleted when it closes) take the file's mode
    const store = new SqliteStore(join(data, 'runlog.db'));
    await store.upsertRun({ id: 'r1', status: 'running' });
    expect(mode(join(data, 'runlog.db-wal'))).toBe(0o600);
    expect(mode(join(data, 'runlog.db-shm'))).toBe(0o600);
    await store.close();
  });

  it('makes the SQLite file 0600 in a folder that already exists, leaving the folder’s mode', async () => {
    const data = join(tempDir('runlog-private-'), 'shared');
    mkdirSync(data, { mode: 0o755 });
    const ran = await cli(['run', '--hub', 'none', '--data', data, '--id', 'p1', '--', 'echo', 'the secret']);
    expect(ran.code).toBe(0);
    expect(mode(data)).toBe(0o755);
    expect(mode(join(data, 'runlog.db'))).toBe(0o600);
  });

  it('writes a runner’s WAL and a worker’s spool 0600 in 0700 folders', () => {
    const root = tempDir('runlog-private-');
    const wal = new Wal(join(root, 'wal'), { version: 1, run: { id: 'r1' }, writer_key: 'k', hub: 'http://127.0.0.1:1', acked_seq: 0, owner: self('run') });
    wal.add(1, JSON.stringify({ stream: 'r1', seq: 1, message: 'the secret' }));
    wal.flush();
    expect(mode(join(root, 'wal'))).toBe(0o700);
    expect(mode(wal.file)).toBe(0o600);
    wal.remove();
    const spool = new Spool<{ message: string }>(join(root, 'spool'), 'w1');
    spool.append([{ message: 'the secret' }]);
    expect(mode(join(root, 'spool'))).toBe(0o700);
    expect(mode(join(root, 'spool', 'w1.spool'))).toBe(0o600);
  });
});
