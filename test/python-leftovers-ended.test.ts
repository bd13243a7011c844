/**
 * The Python client delivering what a dead program left in its spool, for a run that has ended on
 * the real hub since (its id used again by `runlog run`): the hub answers 409 to the create ("already
 * ran") and 409 to the lines ("has ended … takes no more lines", whoever writes: it answered 403
 * "written by another process" before the end was checked first). The next program dropped them without a
 * word; now it keeps them in <spool>/refused/<id>.jsonl and says so on stderr in the words of
 * Node's `runlog sync` ("the hub refuses its lines: …"). clients/python/tests/test_leftovers_ended.py
 * does it against a stand-in hub.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Run } from '../src/store/store.js';
import { cli, getJson, tempDir } from './helpers.js';
import { freePort, newHub, noPython, python } from './python-harness.js';

describe.skipIf(noPython !== undefined)('the Python client: leftover lines of a run that ended on the hub', () => {
  it('keeps them in refused/ and says so on stderr, as runlog sync says it', async () => {
    const spool = tempDir('runlog-spool-');
    const away = python('paced_program.py', ['5', '0.01'], { RUNLOG_HUB: `http://127.0.0.1:${await freePort()}`, RUNLOG_SPOOL: spool, RUN_ID: 'reused-id' });
    expect((await away.done).code).toBe(0); // its 5 lines and its end wait in the spool

    const hub = await newHub();
    const other = await cli(['run', '--hub', hub.url, '--id', 'reused-id', '-q', '--', 'echo', 'the other run']);
    expect(other.code).toBe(0);
    expect((await getJson<Run>(`${hub.url}/api/runs/reused-id`)).body).toMatchObject({ status: 'completed', line_count: 1 });

    const later = python('paced_program.py', ['3', '0.01'], { RUNLOG_HUB: hub.url, RUNLOG_SPOOL: spool });
    const done = await later.done;
    expect(done.code).toBe(0);
    const kept = join(spool, 'refused', 'reused-id.jsonl');
    expect(done.stderr).toContain(
      `runlog: run reused-id, left in the spool by an earlier program: the hub refuses its lines: run reused-id has ended (completed): it takes no more lines; they are kept in ${kept}\n`,
    );
    const records = readFileSync(kept, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { seq: number; message: string });
    expect(records.map((r) => r.message)).toEqual(['paced 1', 'paced 2', 'paced 3', 'paced 4', 'paced 5']);
    expect((await getJson<Run>(`${hub.url}/api/runs/reused-id`)).body).toMatchObject({ status: 'completed', line_count: 1 });
  });
});
