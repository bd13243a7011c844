import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRunControlColumns } from './migrate-runs.js';
import { openVersioned, runMigrations, userVersion, type Migration } from './migrations.js';
import { SqliteStore } from './store.js';

/** The schema of the release before chunks, as it was (git main:src/store/sqlite/schema.ts). */
const RELEASE_0_SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id             TEXT PRIMARY KEY,
  name           TEXT,
  command        TEXT,
  status         TEXT NOT NULL,
  exit_code      INTEGER,
  signal         TEXT,
  created_at     INTEGER NOT NULL,
  started_at     INTEGER,
  completed_at   INTEGER,
  error_message  TEXT,
  log_path       TEXT,
  worker_id      TEXT,
  task_id        TEXT,
  labels         TEXT NOT NULL DEFAULT '{}',
  line_count     INTEGER NOT NULL DEFAULT 0,
  spec           TEXT,    -- a task: what the worker that claims it runs (JSON)
  diagnostics    TEXT     -- collected when the run failed (JSON)
);
CREATE INDEX IF NOT EXISTS runs_queued ON runs (status, created_at);
CREATE INDEX IF NOT EXISTS runs_by_worker ON runs (worker_id, status);

CREATE TABLE IF NOT EXISTS workers (
  id                    TEXT PRIMARY KEY,
  state                 TEXT NOT NULL,
  current_task_id       TEXT,
  vram_total_mb         INTEGER,
  vram_used_mb          INTEGER,
  gpus                  TEXT NOT NULL DEFAULT '[]',
  heartbeat_interval_s  REAL NOT NULL,
  first_seen            INTEGER NOT NULL,
  last_heartbeat        INTEGER NOT NULL,
  dropped_logs          INTEGER NOT NULL DEFAULT 0,
  stats                 TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at);

-- (stream, seq) is the identity of a line: clustered on it, so a run reads in order
CREATE TABLE IF NOT EXISTS log_lines (
  stream   TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  ts       INTEGER NOT NULL,
  level    INTEGER NOT NULL,
  message  TEXT NOT NULL,
  plain    TEXT,            -- the message without ANSI codes, only when it has some
  source   TEXT,
  phase    TEXT,
  logger   TEXT,
  task_id  TEXT,
  attrs    TEXT,
  PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
`;

function tempFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'runlog-migrate-')), 'runlog.db');
}

describe('SQLite migrations', () => {
  it('upgrades a file made by the release before chunks in place: every line once, in order, every field kept', async () => {
    const file = tempFile();
    const old = new Database(file);
    old.exec(RELEASE_0_SCHEMA);
    const insertRun = old.prepare(`INSERT INTO runs (id, status, created_at, line_count, labels) VALUES (?, 'completed', 1, ?, '{"team":"nlp"}')`);
    const insertLine = old.prepare(
      'INSERT INTO log_lines (stream, seq, ts, level, message, plain, source, phase, logger, task_id, attrs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    old.transaction(() => {
      insertRun.run('big', 60_123);
      for (let seq = 1; seq <= 60_123; seq++) insertLine.run('big', seq, 1_000 + seq, seq % 100 === 0 ? 40 : 20, `line ${seq}`, null, 'stdout', 'run', null, null, null);
      insertRun.run('small', 2);
      insertLine.run('small', 1, 5, 30, '\x1b[33mwarn\x1b[0m', 'warn', 'stderr', 'setup', 'py.warnings', 't-1', '{"group":1}');
      insertLine.run('small', 7, 6, 20, 'after a gap', null, null, null, null, null, null);
      insertLine.run('worker:w1', 1, 9, 20, 'worker line', null, 'system', null, null, null, null);
    })();
    old.close();

    const store = new SqliteStore(file);
    try {
      const all: number[] = [];
      for (let page = await store.readLogs('big', 0, 10_000); page.length > 0; page = await store.readLogs('big', page[page.length - 1]?.seq ?? 0, 10_000)) {
        all.push(...page.map((r) => r.seq));
      }
      expect(all).toEqual(Array.from({ length: 60_123 }, (_, i) => i + 1));
      expect((await store.queryLogs('big', { tail: 1 })).total_lines).toBe(60_123);
      expect((await store.queryLogs('big', { level: 'ERROR', tail: 10_000 })).records).toHaveLength(601);
      expect((await store.queryLogs('small', {})).records).toEqual([
        { stream: 'small', seq: 1, timestamp: 5, level: 'WARNING', message: '\x1b[33mwarn\x1b[0m', source: 'stderr', phase: 'setup', logger: 'py.warnings', task_id: 't-1', attrs: { group: 1 } },
        { stream: 'small', seq: 7, timestamp: 6, level: 'INFO', message: 'after a gap' },
      ]);
      expect((await store.querySystemLogs({})).map((l) => l.message)).toEqual(['worker line']);
      expect((await store.searchLines({ q: 'line 60123' })).records.map((r) => `${r.stream}/${r.seq}`)).toEqual(['big/60123']);
    } finally {
      await store.close();
    }
    const after = new Database(file);
    expect(after.prepare(`SELECT name FROM sqlite_master WHERE name = 'log_lines'`).get()).toBeUndefined();
    expect(userVersion(after)).toBeGreaterThanOrEqual(10);
    after.close();
  });

  it('applies each numbered step once, in order, and only those above the file version', () => {
    const db = new Database(':memory:');
    const done: number[] = [];
    const step = (version: number): Migration => ({ version, name: `step ${version}`, up: () => done.push(version) });
    expect(runMigrations(db, [step(11), step(2), step(10)])).toEqual([2, 10, 11]);
    expect(runMigrations(db, [step(11), step(2), step(10), step(12)])).toEqual([12]);
    expect(done).toEqual([2, 10, 11, 12]);
    expect(userVersion(db)).toBe(12);
    db.close();
  });

  it('gives the runs of a file of the release before leases their new columns, keeping every run (migration 11)', async () => {
    const file = tempFile();
    const old = new Database(file);
    old.exec(RELEASE_0_SCHEMA);
    old.prepare(`INSERT INTO runs (id, status, created_at, labels, line_count) VALUES ('old', 'completed', 1, '{"a":"b"}', 1)`).run();
    old.prepare(`INSERT INTO log_lines (stream, seq, ts, level, message) VALUES ('old', 1, 1, 20, 'kept')`).run();
    old.close();

    const store = new SqliteStore(file);
    expect(await store.getRun('old')).toMatchObject({ id: 'old', status: 'completed', labels: { a: 'b' }, lease_s: null, lost: false, rerun_of: null, cancel_requested_by: null });
    expect((await store.readLogs('old', 0, 10)).map((r) => r.message)).toEqual(['kept']);
    await store.upsertRun({ id: 'new', lease_s: 10 });
    await store.close();

    // a file already at 10 without the columns (made by the line store before this step) gets them too
    const at10 = tempFile();
    const partial = new Database(at10);
    partial.exec(RELEASE_0_SCHEMA);
    partial.pragma('user_version = 10');
    partial.close();
    const upgraded = new SqliteStore(at10);
    await upgraded.upsertRun({ id: 'r', lease_s: 5 });
    expect(await upgraded.getRun('r')).toMatchObject({ lease_s: 5 });
    await upgraded.close();

    // opening again changes nothing; the step itself is safe to run twice
    const again = new Database(file);
    expect(userVersion(again)).toBeGreaterThanOrEqual(11);
    addRunControlColumns(again);
    again.close();
    const reopened = new SqliteStore(file);
    expect(await reopened.getRun('new')).toMatchObject({ lease_s: 10 });
    await reopened.close();
  });

  it('blames the native addon, not the file, when better-sqlite3 cannot load it (an addon built for another Node: it said "SQLite file …: The module … was compiled against a different Node.js version")', () => {
    // a real dlopen failure, as an addon left by `npm install` under Node 24 gives under Node 20
    const dir = mkdtempSync(join(tmpdir(), 'runlog-addon-'));
    const addon = join(dir, 'not-an-addon.node');
    writeFileSync(addon, 'not an ELF file\n');
    const file = join(dir, 'runlog.db');
    let message = '';
    try {
      openVersioned(file, { nativeBinding: addon });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`better-sqlite3's native addon does not load in Node ${process.version}`);
    expect(message).toContain('npm rebuild better-sqlite3');
    expect(message).toContain(addon);
    expect(message).not.toContain('SQLite file');
    // a problem of the file itself still names the file
    expect(() => openVersioned(dir)).toThrow(`SQLite file ${dir}: a directory`);
  });
});
