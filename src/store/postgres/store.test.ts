import { expect, it } from 'vitest';
import type { Level, LogRecord } from '../../core/record.js';
import { storeCases } from '../store.case.js';
import { workerStream } from '../store.js';
import { createTestDatabase, describeWithPostgres } from '../../../test/postgres.js';
import { PostgresStore } from './store.js';

/** A store on a fresh database, dropped when the store closes. */
async function freshStore(): Promise<PostgresStore> {
  const database = await createTestDatabase();
  const store = await PostgresStore.open(database.url);
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await database.drop();
  };
  return store;
}

describeWithPostgres('PostgreSQL', () => {
  storeCases('PostgreSQL', freshStore);

  it('searches lines across runs and workers, newest first, by text, level, time and label', async () => {
    const store = await freshStore();
    try {
      await store.upsertRun({ id: 'train', labels: { team: 'vision' } });
      await store.upsertRun({ id: 'eval', labels: { team: 'nlp' } });
      const at = (stream: string, seq: number, message: string, timestamp: number, level: Level = 'INFO'): LogRecord => ({ stream, seq, message, timestamp, level });
      await store.appendRecords('train', [at('train', 1, 'loading data', 100), at('train', 2, 'CUDA out of memory', 400, 'ERROR'), at('train', 3, 'retrying', 500)]);
      await store.appendRecords('eval', [at('eval', 1, 'cuda device 0', 200), at('eval', 2, '\x1b[31mCuda\x1b[0m error: device lost', 300, 'ERROR')]);
      await store.appendRecords(workerStream('w1'), [at(workerStream('w1'), 1, 'cuda driver 535', 250, 'WARNING')]);
      const ids = (page: { records: LogRecord[] }) => page.records.map((r) => `${r.stream}/${r.seq}`);
      expect(ids(await store.searchLines({ q: 'cuda' }))).toEqual(['train/2', 'eval/2', 'worker:w1/1', 'eval/1']);
      expect(ids(await store.searchLines({ q: 'CUDA', level: 'WARNING' }))).toEqual(['train/2', 'eval/2', 'worker:w1/1']);
      expect((await store.searchLines({ q: 'cuda', since: 200, until: 300 })).records.map((r) => r.seq)).toEqual([2, 1, 1]);
      expect(ids(await store.searchLines({ q: 'cuda', labels: { team: 'nlp' } }))).toEqual(['eval/2', 'eval/1']);
      const limited = await store.searchLines({ q: 'cuda', limit: 2 });
      expect([ids(limited), limited.truncated]).toEqual([['train/2', 'eval/2'], true]);
      expect((await store.searchLines({ q: 'no such line' })).records).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
