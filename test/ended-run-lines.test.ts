/**
 * Lines for an ended run, from another writer: 409 on every line route. The JSON batch route
 * checked the writer first (403 NOT_THE_WRITER) while text and NDJSON said the run had ended.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { hubOn, tempDir } from './helpers.js';

let hub: RunningHub;
beforeAll(async () => {
  hub = await hubOn(tempDir());
});
afterAll(async () => hub.close());

const post = (path: string, writer: string, type: string, body: string) =>
  fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': type, 'x-runlog-writer': writer }, body });
const record = JSON.stringify({ records: [{ seq: 1, timestamp: 1, level: 'INFO', message: 'late' }] });

it('answers 409 CONFLICT to any writer sending lines to an ended run, on the JSON, text and NDJSON routes alike', async () => {
  expect((await post('/api/runs', 'key-a', 'application/json', JSON.stringify({ id: 'ended-1' }))).status).toBe(201);
  expect((await post('/api/runs/ended-1/finish', 'key-a', 'application/json', JSON.stringify({ status: 'completed' }))).status).toBe(200);
  for (const writer of ['key-a', 'key-b']) {
    for (const [path, type, body] of [
      ['/api/runs/ended-1/logs', 'application/json', record],
      ['/api/runs/ended-1/text', 'text/plain', 'late\n'],
      ['/api/runs/ended-1/text', 'application/x-ndjson', '{"message":"late"}\n'],
    ] as const) {
      const answer = await post(path, writer, type, body);
      expect([answer.status, ((await answer.json()) as { error: string }).error], `${writer} ${type}`).toEqual([409, 'CONFLICT']);
    }
  }
});

it('still answers 403 NOT_THE_WRITER to another writer of a run that has not ended', async () => {
  expect((await post('/api/runs', 'key-a', 'application/json', JSON.stringify({ id: 'open-1' }))).status).toBe(201);
  const answer = await post('/api/runs/open-1/logs', 'key-b', 'application/json', record);
  expect([answer.status, ((await answer.json()) as { error: string }).error]).toEqual([403, 'NOT_THE_WRITER']);
});
