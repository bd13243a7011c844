/**
 * SQLite: tokens (hashed), web UI sessions (hashed), and the writer bound to each run. Tables of
 * their own, so the runs table keeps its shape.
 */
import type Database from 'better-sqlite3';
import { statement } from './statements.js';
import { tokenFromRow, type TokenRow } from '../rows.js';
import { sameWriter, type NewToken, type RunWriter, type TokenRecord, type WriterClaim } from '../store.js';

export const AUTH_SCHEMA = `
CREATE TABLE IF NOT EXISTS tokens (
  name          TEXT PRIMARY KEY,
  hash          TEXT NOT NULL UNIQUE,   -- SHA-256 of the secret; the secret itself is never stored
  scopes        TEXT NOT NULL,          -- comma-separated
  worker_id     TEXT,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  last_used_at  INTEGER,
  created_by    TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
  hash        TEXT PRIMARY KEY,         -- SHA-256 of the cookie's value
  token_name  TEXT NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS run_writers (
  run_id      TEXT PRIMARY KEY,
  token_name  TEXT,
  key_hash    TEXT
);
`;


export function createToken(db: Database.Database, token: NewToken, now: number): boolean {
  const result = statement(
    db,
      `INSERT INTO tokens (name, hash, scopes, worker_id, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    )
    .run(token.name, token.hash, token.scopes.join(','), token.worker_id, now, token.expires_at, token.created_by);
  return result.changes === 1;
}

export function listTokens(db: Database.Database): TokenRecord[] {
  return (statement(db, 'SELECT * FROM tokens ORDER BY created_at, name').all() as TokenRow[]).map(tokenFromRow);
}

export function findToken(db: Database.Database, hash: string): TokenRecord | undefined {
  const row = statement(db, 'SELECT * FROM tokens WHERE hash = ?').get(hash) as TokenRow | undefined;
  return row === undefined ? undefined : tokenFromRow(row);
}

export function revokeToken(db: Database.Database, name: string): boolean {
  return db.transaction(() => {
    statement(db, 'DELETE FROM sessions WHERE token_name = ?').run(name);
    return statement(db, 'DELETE FROM tokens WHERE name = ?').run(name).changes === 1;
  })();
}

export function touchToken(db: Database.Database, name: string, at: number): void {
  statement(db, 'UPDATE tokens SET last_used_at = ? WHERE name = ?').run(at, name);
}

export function countTokens(db: Database.Database): number {
  return (statement(db, 'SELECT COUNT(*) AS n FROM tokens').get() as { n: number }).n;
}

export function createSession(db: Database.Database, hash: string, tokenName: string, expiresAt: number): void {
  statement(db, 'INSERT INTO sessions (hash, token_name, expires_at) VALUES (?, ?, ?)').run(hash, tokenName, expiresAt);
}

export function findSession(db: Database.Database, hash: string, now: number): TokenRecord | undefined {
  const row = statement(db, 'SELECT t.* FROM sessions s JOIN tokens t ON t.name = s.token_name WHERE s.hash = ? AND s.expires_at > ?')
    .get(hash, now) as TokenRow | undefined;
  return row === undefined ? undefined : tokenFromRow(row);
}

export function deleteSession(db: Database.Database, hash: string): void {
  statement(db, 'DELETE FROM sessions WHERE hash = ?').run(hash);
}

export function claimRunWriter(db: Database.Database, runId: string, writer: RunWriter): WriterClaim {
  // one statement: of two creators racing for the same id, exactly one inserts
  const inserted = statement(db, 'INSERT INTO run_writers (run_id, token_name, key_hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    .run(runId, writer.token_name, writer.key_hash).changes;
  if (inserted === 1) return 'claimed';
  const stored = getRunWriter(db, runId);
  return stored !== undefined && sameWriter(stored, writer) ? 'same' : 'other';
}

export function setRunWriter(db: Database.Database, runId: string, writer: RunWriter): void {
  statement(
    db,
    `INSERT INTO run_writers (run_id, token_name, key_hash) VALUES (?, ?, ?)
     ON CONFLICT (run_id) DO UPDATE SET token_name = excluded.token_name, key_hash = excluded.key_hash`,
  ).run(runId, writer.token_name, writer.key_hash);
}

export function getRunWriter(db: Database.Database, runId: string): RunWriter | undefined {
  return statement(db, 'SELECT token_name, key_hash FROM run_writers WHERE run_id = ?').get(runId) as RunWriter | undefined;
}
