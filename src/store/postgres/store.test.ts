import { storeCases } from '../store.case.js';
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
});
