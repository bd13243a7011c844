/**
 * `?level=` on the live streams: `/api/logs/stream` (every worker's lines, one worker's) and a
 * run's `/api/runs/:id/logs/stream` took it and sent every line all the same. Now lines below it
 * are not sent, in the backlog as live, as GET /api/logs and GET /api/runs/:id/logs filter them;
 * a level that does not parse is a 400 naming `level`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { hubOn, tempDir } from './helpers.js';
import { openStream } from './sse-client.js';

/** now, less an hour: worker lines older than the retention (48 h) would be deleted under the test */
const T0 = Date.now() - 3_600_000;
let clock = 0;
/** a line a second after the last one: each heartbeat's lines are new, never taken for a resend */
const line = (level: string, message: string) => ({ timestamp: new Date(T0 + ++clock * 1000).toISOString(), level, message });

describe('?level= on the live streams', () => {
  let hub: RunningHub;
  const post = async (path: string, body: object) => {
    const answer = await fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(answer.status, await answer.clone().text()).toBeLessThan(300);
  };
  const beat = (worker: string, logs: object[]) => post(`/api/workers/${worker}/heartbeat`, { status: 'idle', logs });
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => {
    await hub.close();
  });

  it("sends every worker's lines at that level and above only", async () => {
    const stream = await openStream(`${hub.url}/api/logs/stream?level=warning`);
    try {
      await beat('lv-a', [line('INFO', 'a-info'), line('WARNING', 'a-warn')]);
      await beat('lv-b', [line('DEBUG', 'b-debug'), line('ERROR', 'b-error')]);
      await beat('lv-a', [line('INFO', 'a-info-2'), line('CRITICAL', 'a-last')]);
      await stream.until(() => stream.messages().includes('a-last'));
      expect(stream.messages()).toEqual(['a-warn', 'b-error', 'a-last']);
    } finally {
      stream.close();
    }
  });

  it("sends one worker's backlog and live lines at that level, ids their seqs, past a backlog page of none", async () => {
    // more than a backlog page (1,000) of lines below the level first: read past, not read again forever
    const quiet = Array.from({ length: 1500 }, (_, index) => line('INFO', `quiet ${index + 1}`));
    await beat('lv-c', [...quiet, line('WARNING', 'c-warn'), line('INFO', 'c-info')]);
    const stream = await openStream(`${hub.url}/api/logs/stream?source_id=lv-c&level=WARNING`, { 'Last-Event-ID': '0' });
    try {
      await stream.until(() => stream.messages().includes('c-warn'));
      await beat('lv-c', [line('INFO', 'c-live-info'), line('ERROR', 'c-live-error')]);
      await stream.until(() => stream.messages().includes('c-live-error'));
      expect(stream.messages()).toEqual(['c-warn', 'c-live-error']);
      expect(stream.frames().filter((frame) => frame.event === 'log').map((frame) => frame.id)).toEqual(['1501', '1504']);
    } finally {
      stream.close();
    }
  });

  it("sends a run's tail, resumed backlog and live lines at that level, batched or not", async () => {
    await post('/api/runs', { id: 'lv-run' });
    const records = Array.from({ length: 1500 }, (_, index) => ({ seq: index + 1, timestamp: T0 * 1000 + index, level: 'INFO', message: `step ${index + 1}` }));
    records.push({ seq: 1501, timestamp: T0 * 1000 + 1501, level: 'WARNING', message: 'run-warn' }, { seq: 1502, timestamp: T0 * 1000 + 1502, level: 'INFO', message: 'run-info' });
    await post('/api/runs/lv-run/logs', { records });
    const streams = [
      await openStream(`${hub.url}/api/runs/lv-run/logs/stream?level=WARNING`),
      await openStream(`${hub.url}/api/runs/lv-run/logs/stream?level=WARNING&batch=1`),
      await openStream(`${hub.url}/api/runs/lv-run/logs/stream?level=WARNING&after=0`),
    ];
    try {
      for (const stream of streams) await stream.until(() => stream.messages().includes('run-warn'));
      await post('/api/runs/lv-run/logs', {
        records: [
          { seq: 1503, timestamp: T0 * 1000 + 1503, level: 'DEBUG', message: 'run-live-debug' },
          { seq: 1504, timestamp: T0 * 1000 + 1504, level: 'ERROR', message: 'run-live-error' },
        ],
      });
      for (const stream of streams) {
        await stream.until(() => stream.messages().includes('run-live-error'));
        expect(stream.messages()).toEqual(['run-warn', 'run-live-error']);
      }
    } finally {
      for (const stream of streams) stream.close();
    }
  });

  it.each(['/api/logs/stream?level=LOUD', '/api/logs/stream?source_id=lv-a&level=LOUD', '/api/runs/lv-run/logs/stream?level=LOUD'])('refuses %s with a 400 naming level', async (path) => {
    const answer = await fetch(`${hub.url}${path}`);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ field: 'level' });
  });
});
