import { storeCases } from '../store.case.js';
import { describeWithPostgres, freshPostgresStore } from '../../../test/postgres.js';


describeWithPostgres('PostgreSQL', () => {
  storeCases('PostgreSQL', freshPostgresStore);
});
