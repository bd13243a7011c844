import { afterAll } from 'vitest';
import { storeCases } from '../store.case.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../../../test/postgres.js';
import { PostgresStore } from './store.js';

describeWithPostgres('PostgreSQL', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });
  storeCases('PostgreSQL', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    return PostgresStore.open(database.url);
  });
});
