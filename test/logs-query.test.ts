/** GET /api/runs/:id/logs: its parameters that cannot go together. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { getJson, hubOn, tempDir } from './helpers.js';

describe('GET /api/runs/:id/logs', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await hubOn(tempDir());
    const json = (body: object) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await fetch(`${hub.url}/api/runs`, json({ id: 'five' }))).status).toBe(201);
    const records = [1, 2, 3, 4, 5].map((seq) => ({ seq, timestamp: seq * 1000, level: 'INFO', message: `line ${seq}` }));
    expect((await fetch(`${hub.url}/api/runs/five/logs`, json({ records }))).status).toBe(200);
  });
  afterAll(async () => {
    await hub.close();
  });

  it('refuses tail and limit together with a 400 naming limit (limit silently won: the first lines, not the last)', async () => {
    const { status, body } = await getJson<{ error: string; field: string; message: string }>(`${hub.url}/api/runs/five/logs?tail=3&limit=2`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'BAD_REQUEST', field: 'limit' });
    expect(body.message).toContain('not both');
  });

  it('answers tail alone with the last lines and limit alone with the first', async () => {
    const tail = await getJson<{ logs: { seq: number }[] }>(`${hub.url}/api/runs/five/logs?tail=3`);
    expect(tail.body.logs.map((l) => l.seq)).toEqual([3, 4, 5]);
    const limit = await getJson<{ logs: { seq: number }[] }>(`${hub.url}/api/runs/five/logs?limit=2`);
    expect(limit.body.logs.map((l) => l.seq)).toEqual([1, 2]);
  });
});
