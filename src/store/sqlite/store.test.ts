import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { storeCases } from '../store.case.js';
import { MIGRATIONS, SCHEMA } from './schema.js';
import { SqliteStore } from './store.js';

// a real file in a fresh directory each time: WAL and all
storeCases('SQLite', async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'runlog-sqlite-')), 'runlog.db')));

describe('SQLite schema migrations', () => {
  it('upgrades a database of the first release in place, keeping its runs and lines', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'runlog-sqlite-')), 'runlog.db');
    const old = new Database(file);
    old.exec(SCHEMA); // the first release's tables, user_version 0
    old.prepare(`INSERT INTO runs (id, status, created_at, labels, line_count) VALUES ('old', 'completed', 1, '{"a":"b"}', 1)`).run();
    old.prepare(`INSERT INTO log_lines (stream, seq, ts, level, message) VALUES ('old', 1, 1, 20, 'kept')`).run();
    old.close();

    const store = new SqliteStore(file);
    expect(await store.getRun('old')).toMatchObject({ id: 'old', status: 'completed', labels: { a: 'b' }, lease_s: null, lost: false, rerun_of: null });
    expect((await store.readLogs('old', 0, 10)).map((r) => r.message)).toEqual(['kept']);
    await store.upsertRun({ id: 'new', lease_s: 10 });
    expect(await store.getRun('new')).toMatchObject({ lease_s: 10 });
    await store.close();

    // opening it again changes nothing
    const again = new Database(file);
    expect(again.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    again.close();
    const reopened = new SqliteStore(file);
    expect(await reopened.getRun('new')).toMatchObject({ lease_s: 10 });
    await reopened.close();
  });
});
