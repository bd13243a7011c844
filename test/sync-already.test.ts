/**
 * `runlog sync` of a run whose lines the hub partly has already (a delivery whose answer was lost:
 * the runner died before it heard it). The hub stores them once; the sync counted them as sent, so
 * "10 lines sent" could mean 6 new ones. It now says how many the hub took and how many it had.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import type { Run } from '../src/store/store.js';
import { cli, getJson, hubOn, tempDir } from './helpers.js';

let hub: RunningHub;
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterAll(async () => hub?.close());

/** The WAL meta of the one run `runlog run` left in `data` (found by name, wherever the WAL folder is). */
function walMeta(data: string): { writer_key: string; run: { id: string } } {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'half.json') found.push(join(dir, entry.name));
    }
  };
  walk(data);
  expect(found).toHaveLength(1);
  return JSON.parse(readFileSync(found[0]!, 'utf8'));
}

it('says how many lines the hub took and how many it had already', async () => {
  const data = tempDir();
  const away = await cli(['run', '--hub', 'http://127.0.0.1:9', '--data', data, '--id', 'half', '--flush-timeout', '1s', '-q', '--', 'seq', '1', '10']);
  expect(away.code).toBe(0);
  // the hub has the run and its first 4 lines, from the same writer, as if their answer had been lost
  const meta = walMeta(data);
  const headers = { 'content-type': 'application/json', 'x-runlog-writer': meta.writer_key };
  expect((await fetch(`${hub.url}/api/runs`, { method: 'POST', headers, body: JSON.stringify(meta.run) })).status).toBe(201);
  const { body: logs } = await getJson<{ logs: unknown[] }>(`${hub.url}/api/runs/half/logs`);
  expect(logs.logs).toEqual([]);
  const first = Array.from({ length: 4 }, (_, i) => ({ seq: i + 1, timestamp: Date.now() * 1000, level: 'INFO', message: String(i + 1), source: 'stdout' }));
  expect((await fetch(`${hub.url}/api/runs/half/logs`, { method: 'POST', headers, body: JSON.stringify({ records: first }) })).status).toBe(200);

  const text = await cli(['sync', '--data', data, '--hub', hub.url]);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('run half: 6 lines sent to');
  expect(text.stdout).toContain('(and 4 it had already), ended');
  expect(text.stdout).toContain('sent 1 runs, 6 lines (and 4 the hub had already)');
  expect((await getJson<Run>(`${hub.url}/api/runs/half`)).body).toMatchObject({ status: 'completed', line_count: 10 });
});
