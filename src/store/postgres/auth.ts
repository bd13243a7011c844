/** PostgreSQL: tokens (hashed), web UI sessions (hashed), and the writer bound to each run (as sqlite/auth.ts). */
import type pg from 'pg';
import { tokenFromRow, type TokenRow } from '../rows.js';
import { sameWriter, type NewToken, type RunWriter, type TokenRecord, type WriterClaim } from '../store.js';

export const AUTH_SCHEMA = `
CREATE TABLE IF NOT EXISTS tokens (
  name          TEXT PRIMARY KEY,
  hash          TEXT NOT NULL UNIQUE,   -- SHA-256 of the secret; the secret itself is never stored
  scopes        TEXT NOT NULL,          -- comma-separated
  worker_id     TEXT,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT,
  last_used_at  BIGINT,
  created_by    TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
  hash        TEXT PRIMARY KEY,         -- SHA-256 of the cookie's value
  token_name  TEXT NOT NULL,
  expires_at  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_writers (
  run_id      TEXT PRIMARY KEY,
  token_name  TEXT,
  key_hash    TEXT
);
`;


export async function createToken(db: pg.Pool, token: NewToken, now: number): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO tokens (name, hash, scopes, worker_id, created_at, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT DO NOTHING`,
    [token.name, token.hash, token.scopes.join(','), token.worker_id, now, token.expires_at, token.created_by],
  );
  return result.rowCount === 1;
}

export async function listTokens(db: pg.Pool): Promise<TokenRecord[]> {
  return (await db.query<TokenRow>('SELECT * FROM tokens ORDER BY created_at, name')).rows.map(tokenFromRow);
}

export async function findToken(db: pg.Pool, hash: string): Promise<TokenRecord | undefined> {
  const row = (await db.query<TokenRow>('SELECT * FROM tokens WHERE hash = $1', [hash])).rows[0];
  return row === undefined ? undefined : tokenFromRow(row);
}

export async function revokeToken(db: pg.Pool, name: string): Promise<boolean> {
  // one statement, so the sessions and the token go together
  const { rows } = await db.query<{ n: number }>(
    `WITH gone_sessions AS (DELETE FROM sessions WHERE token_name = $1), gone AS (DELETE FROM tokens WHERE name = $1 RETURNING 1)
     SELECT COUNT(*)::int AS n FROM gone`,
    [name],
  );
  return rows[0]?.n === 1;
}

export async function touchToken(db: pg.Pool, name: string, at: number): Promise<void> {
  await db.query('UPDATE tokens SET last_used_at = $1 WHERE name = $2', [at, name]);
}

export async function countTokens(db: pg.Pool): Promise<number> {
  return (await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM tokens')).rows[0]?.n ?? 0;
}

export async function createSession(db: pg.Pool, hash: string, tokenName: string, expiresAt: number): Promise<void> {
  await db.query('INSERT INTO sessions (hash, token_name, expires_at) VALUES ($1, $2, $3)', [hash, tokenName, expiresAt]);
}

export async function findSession(db: pg.Pool, hash: string, now: number): Promise<TokenRecord | undefined> {
  const { rows } = await db.query<TokenRow>(
    'SELECT t.* FROM sessions s JOIN tokens t ON t.name = s.token_name WHERE s.hash = $1 AND s.expires_at > $2',
    [hash, now],
  );
  return rows[0] === undefined ? undefined : tokenFromRow(rows[0]);
}

export async function deleteSession(db: pg.Pool, hash: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE hash = $1', [hash]);
}

export async function claimRunWriter(db: pg.Pool, runId: string, writer: RunWriter): Promise<WriterClaim> {
  // one statement: of two creators racing for the same id (on any hub), exactly one inserts
  const inserted = await db.query('INSERT INTO run_writers (run_id, token_name, key_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    runId,
    writer.token_name,
    writer.key_hash,
  ]);
  if (inserted.rowCount === 1) return 'claimed';
  const stored = await getRunWriter(db, runId);
  return stored !== undefined && sameWriter(stored, writer) ? 'same' : 'other';
}

export async function setRunWriter(db: pg.Pool, runId: string, writer: RunWriter): Promise<void> {
  await db.query(
    `INSERT INTO run_writers (run_id, token_name, key_hash) VALUES ($1, $2, $3)
     ON CONFLICT (run_id) DO UPDATE SET token_name = excluded.token_name, key_hash = excluded.key_hash`,
    [runId, writer.token_name, writer.key_hash],
  );
}

export async function getRunWriter(db: pg.Pool, runId: string): Promise<RunWriter | undefined> {
  return (await db.query<RunWriter>('SELECT token_name, key_hash FROM run_writers WHERE run_id = $1', [runId])).rows[0];
}
