/**
 * The seed's function stores a line's level as the worker sent it. The API shows it as parseLevel
 * reads it (any case, blanks around it, a levelno as text, aliases; INFO for a text it does not
 * know), and the level filters of /api/logs, /api/search and a worker stream's reads must keep
 * exactly the lines shown at that level and above: they listed the texts they took, so `ERROR   `
 * (padded, as a formatter pads it) shown ERROR, and `VERBOSE` shown INFO, were left out of every
 * level filter, `level=DEBUG` (everything) included.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../../../test/postgres.js';
import { LEVEL_RANK, LEVELS } from '../../core/record.js';
import { workerStream } from '../store.js';
import { PostgresStore } from './store.js';

const TEXTS = ['DEBUG', 'info', ' Warning ', 'ERROR   ', 'err', 'Fatal', 'VERBOSE', '', '5', '25', '040', '45', '200', 'SUCCESS', 'trace'];

describeWithPostgres('PostgreSQL level filters on lines the seed function stored', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = await PostgresStore.open(database.url);
    const logs = TEXTS.map((level, i) => ({ timestamp: new Date(Date.UTC(2026, 11, 3, 7, 0, i)).toISOString(), level, message: `lv${i}` }));
    await store.pool.query('SELECT func_worker_heartbeat_with_logs($1, NULL, NULL, $2::jsonb, NULL)', ['w-lv', JSON.stringify(logs)]);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('keeps, for each level, exactly the lines shown at that level or above', async () => {
    const shown = await store.querySystemLogs({ source_id: 'w-lv', limit: 100 });
    expect(shown).toHaveLength(TEXTS.length);
    const levelOf = new Map(shown.map((line) => [line.message, line.level]));
    expect(levelOf.get(`lv${TEXTS.indexOf('ERROR   ')}`)).toBe('ERROR');
    expect(levelOf.get(`lv${TEXTS.indexOf('VERBOSE')}`)).toBe('INFO');
    for (const level of LEVELS) {
      const expected = shown.filter((line) => LEVEL_RANK[line.level] >= LEVEL_RANK[level]).map((line) => line.message).sort();
      const logs = (await store.querySystemLogs({ source_id: 'w-lv', level, limit: 100 })).map((line) => line.message).sort();
      const search = (await store.searchLines({ level, limit: 100 })).records.map((record) => record.message).sort();
      const stream = (await store.queryLogs(workerStream('w-lv'), { level, tail: 100 })).records.map((record) => record.message).sort();
      expect({ level, logs, search, stream }).toEqual({ level, logs: expected, search: expected, stream: expected });
    }
  });
});
