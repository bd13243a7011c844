import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeCases } from '../store.case.js';
import { SqliteStore } from './store.js';

// a real file in a fresh directory each time: WAL and all
storeCases('SQLite', async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'runlog-sqlite-')), 'runlog.db')));
