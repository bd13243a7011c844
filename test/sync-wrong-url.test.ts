/**
 * `runlog sync` to a URL that answers 404 for the run's create: the bare host of a hub served under
 * `--base-path` (or a proxy's 404 while the hub restarts). No runlog hub refuses a create with a
 * 404, yet the sync took it for a refusal: it wrote `refused` into the WAL, said "sent 1 runs",
 * exited 0, and no later sync, even with the right URL, sent the run again. Now the runs wait, the
 * sync says what the URL answered, and a sync with the right URL delivers every line once. A 404
 * to a page of lines (the hub lost the run) makes the run again and sends that page again; a URL
 * that answers 404 to the lines of a run it made is said, not made and sent again for ever.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { WalMeta } from '../src/pipeline/spool/wal.js';
import type { Run } from '../src/store/store.js';
import { hubProxy } from './hub-proxy.js';
import { cli, FIXTURES, getJson, PYTHON, tempDir } from './helpers.js';

const LINES = 50;
let hub: RunningHub;
beforeAll(async () => {
  hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), basePath: '/runlog' }, { audit: () => {} });
});
afterAll(async () => hub?.close());

interface Synced {
  runs: { id: string; lines: number; outcome: string; note?: string }[];
  sent_lines: number;
  waiting: number;
}

/** A data directory whose WALs hold runs `ids`, each of LINES lines, never delivered. */
async function leftovers(ids: string[]): Promise<string> {
  const data = tempDir();
  for (const id of ids) {
    // each in a data directory of its own: a second `run` on one would start a background sync of the first
    const own = tempDir();
    const away = await cli(['run', '--hub', 'http://127.0.0.1:9', '--data', own, '--id', id, '--flush-timeout', '1s', '-q', '--', PYTHON, join(FIXTURES, 'many_lines.py'), String(LINES)]);
    expect(away.code).toBe(0);
    cpSync(join(own, 'wal'), join(data, 'wal'), { recursive: true });
  }
  return data;
}

function metaOf(data: string, id: string): WalMeta {
  return JSON.parse(readFileSync(join(data, 'wal', `${id}.json`), 'utf8')) as WalMeta;
}

it('leaves the runs waiting on a 404 to their create, and a sync with the right URL delivers them once', async () => {
  const data = await leftovers(['wrong-url-1', 'wrong-url-2']);
  const origin = new URL(hub.url).origin;

  const bare = await cli(['sync', '--data', data, '--hub', origin, '--timeout', '2s']);
  expect(bare.code).toBe(1);
  expect(bare.stdout).toContain(`still waiting (the hub at ${origin} answered 404 for POST /api/runs: is it the hub's URL? (behind a proxy at a sub-path, give the path))`);
  expect(bare.stdout).toContain('sent 0 runs, 0 lines; 2 runs still wait');
  const again = await cli(['sync', '--data', data, '--hub', origin, '--timeout', '2s', '--json']);
  expect(again.code).toBe(1);
  const waited = JSON.parse(again.stdout) as Synced;
  expect(waited).toMatchObject({ sent_lines: 0, waiting: 2 });
  for (const run of waited.runs) expect(run.note).toContain('answered 404 for POST /api/runs');
  for (const id of ['wrong-url-1', 'wrong-url-2']) expect(metaOf(data, id).refused).toBeUndefined();

  const right = await cli(['sync', '--data', data, '--hub', hub.url, '--json']);
  expect(right.code).toBe(0);
  const sent = JSON.parse(right.stdout) as Synced;
  expect(sent).toMatchObject({ sent_lines: 2 * LINES, waiting: 0 });
  for (const id of ['wrong-url-1', 'wrong-url-2']) {
    expect((await getJson<Run>(`${hub.url}/api/runs/${id}`)).body).toMatchObject({ status: 'completed', line_count: LINES });
  }
  expect(readdirSync(join(data, 'wal'))).toEqual([]);
});

it('sends a run an older sync marked refused for a 404, and not one the hub really refused', async () => {
  const data = await leftovers(['was-404', 'really-refused']);
  const mark = (id: string, refused: string) => {
    const file = join(data, 'wal', `${id}.json`);
    writeFileSync(file, JSON.stringify({ ...metaOf(data, id), refused }));
  };
  mark('was-404', 'no route POST /api/runs'); // what an older sync wrote for the bare host
  mark('really-refused', 'name: longer than 256 characters');

  const right = await cli(['sync', '--data', data, '--hub', hub.url, '--json']);
  expect(right.code).toBe(0);
  expect((JSON.parse(right.stdout) as Synced).runs).toMatchObject([{ id: 'was-404', outcome: 'ended', lines: LINES }]);
  expect((await getJson<Run>(`${hub.url}/api/runs/was-404`)).body).toMatchObject({ status: 'completed', line_count: LINES });
  expect((await getJson(`${hub.url}/api/runs/really-refused`)).status).toBe(404);
  expect(metaOf(data, 'really-refused').refused).toBe('name: longer than 256 characters');
});

it('says a proxy that takes the create and answers 404 for the lines, instead of creating and resending for ever', async () => {
  const data = await leftovers(['half-routed']);
  const proxy = await hubProxy(hub.url, (method, path) => (path.endsWith('/logs') ? { status: 404, body: { error: 'NOT_FOUND', message: 'no route' } } : undefined));
  try {
    const synced = await cli(['sync', '--data', data, '--hub', `${proxy.url}/runlog`, '--timeout', '2s']);
    expect(synced.code).toBe(1);
    expect(synced.stdout).toContain(`the hub at ${proxy.url}/runlog took run half-routed and answered 404 for its lines`);
    expect(proxy.counts.get('POST /runlog/api/runs/half-routed/logs')).toBe(2); // once, and once more after making the run again
  } finally {
    await proxy.close();
  }
  expect(metaOf(data, 'half-routed').refused).toBeUndefined();
  const right = await cli(['sync', '--data', data, '--hub', hub.url, '--json']);
  expect((JSON.parse(right.stdout) as Synced).runs).toMatchObject([{ id: 'half-routed', outcome: 'ended', lines: LINES }]);
});

it('sends a page the hub answered 404 to again once the run is made again (it was skipped: its lines never reached the hub)', async () => {
  const data = await leftovers(['lost-once']);
  let first = true;
  const proxy = await hubProxy(hub.url, (_method, path) => {
    if (!path.endsWith('/logs') || !first) return undefined;
    first = false; // the hub lost the run once (a `runlog rm`, a new data directory), then has it again
    return { status: 404, body: { error: 'NOT_FOUND', message: 'run lost-once' } };
  });
  try {
    const synced = await cli(['sync', '--data', data, '--hub', `${proxy.url}/runlog`, '--json']);
    expect(synced.code, synced.stderr).toBe(0);
    expect((JSON.parse(synced.stdout) as Synced).runs).toMatchObject([{ id: 'lost-once', outcome: 'ended', lines: LINES }]);
    expect(proxy.counts.get('POST /runlog/api/runs/lost-once/logs')).toBe(2);
  } finally {
    await proxy.close();
  }
  expect((await getJson<Run>(`${hub.url}/api/runs/lost-once`)).body).toMatchObject({ status: 'completed', line_count: LINES });
});

it('refuses a --hub that is no URL (exit 2, naming --hub) before touching a WAL: it was tried as a hub, "unreachable: Invalid URL", exit 1', async () => {
  const data = await leftovers(['not-a-url-1']);
  const before = metaOf(data, 'not-a-url-1');
  const typo = await cli(['sync', '--data', data, '--hub', 'hub.internal:7070', '--timeout', '1s']);
  expect([typo.code, typo.stdout, typo.stderr]).toEqual([2, '', 'runlog: --hub "hub.internal:7070": expected an http:// or https:// URL, or none\n']);
  expect(metaOf(data, 'not-a-url-1')).toEqual(before);
});
