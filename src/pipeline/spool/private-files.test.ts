/** The files that hold a run's writer key are 0600, even over a leftover temporary file of an earlier process with our pid. */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { saveCheckpoint } from '../../sources/file/checkpoint.js';
import { writeMeta, type WalMeta } from './wal.js';

const leftover = (file: string) => writeFileSync(`${file}.${process.pid}.tmp`, 'old', { mode: 0o644 });

it('writes the WAL meta 0600 though a leftover temp file of our pid was 0644 (its mode was kept)', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'runlog-private-')), 'r1.json');
  leftover(file);
  const meta = { version: 1, run: { id: 'r1' }, writer_key: 'k', hub: 'http://127.0.0.1:9', acked_seq: 0 } as unknown as WalMeta;
  writeMeta(file, meta, false);
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

it('writes a follow checkpoint 0600 though a leftover temp file of our pid was 0644', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'runlog-private-')), 'follow', 'r1.json');
  saveCheckpoint(file, { version: 1, run: 'r1', writer_key: 'k', last_seq: 0, files: [] });
  leftover(file);
  saveCheckpoint(file, { version: 1, run: 'r1', writer_key: 'k', last_seq: 1, files: [] });
  expect(statSync(file).mode & 0o777).toBe(0o600);
});
