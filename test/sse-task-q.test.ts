/**
 * `?task_id=` and `?q=` on `/api/logs/stream`, with GET /api/logs's meaning and checks: the
 * stream took neither and sent every worker line. Every worker's lines, and one worker's backlog
 * and live lines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { hubOn, tempDir } from './helpers.js';
import { openStream } from './sse-client.js';

/** now, less an hour: worker lines older than the retention (48 h) would be deleted under the test */
const T0 = Date.now() - 3_600_000;
let clock = 0;
const line = (message: string, task_id?: string) => ({ timestamp: new Date(T0 + ++clock * 1000).toISOString(), level: 'INFO', message, ...(task_id ? { task_id } : {}) });

describe('?task_id= and ?q= on /api/logs/stream', () => {
  let hub: RunningHub;
  const beat = async (worker: string, logs: object[]) => {
    const answer = await fetch(`${hub.url}/api/workers/${worker}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'idle', logs }) });
    expect(answer.status, await answer.clone().text()).toBeLessThan(300);
  };
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => hub.close());

  it("sends every worker's lines of that task only, and those holding the text (any case, colour codes left out)", async () => {
    const byTask = await openStream(`${hub.url}/api/logs/stream?task_id=job-1`);
    const byText = await openStream(`${hub.url}/api/logs/stream?q=loss%3D`);
    try {
      await beat('tq-a', [line('a one', 'job-1'), line('a other', 'job-2'), line('a LOSS=0.5')]);
      await beat('tq-b', [line('b none'), line('b \x1b[31mLoss\x1b[0m=0.4', 'job-2'), line('b last', 'job-1')]);
      await byTask.until(() => byTask.messages().includes('b last'));
      await byText.until(() => byText.messages().length >= 2);
      expect(byTask.messages()).toEqual(['a one', 'b last']);
      expect(byText.messages()).toEqual(['a LOSS=0.5', 'b \x1b[31mLoss\x1b[0m=0.4']);
    } finally {
      byTask.close();
      byText.close();
    }
  });

  it("filters one worker's backlog and live lines, ids their seqs", async () => {
    await beat('tq-c', [line('c1 epoch', 'job-3'), line('c2 epoch', 'job-4'), line('c3 step', 'job-3')]);
    const stream = await openStream(`${hub.url}/api/logs/stream?source_id=tq-c&task_id=job-3&q=EPOCH`, { 'Last-Event-ID': '0' });
    try {
      await stream.until(() => stream.messages().includes('c1 epoch'));
      await beat('tq-c', [line('c4 epoch', 'job-4'), line('c5 step', 'job-3'), line('c6 epoch', 'job-3')]);
      await stream.until(() => stream.messages().includes('c6 epoch'));
      expect(stream.messages()).toEqual(['c1 epoch', 'c6 epoch']);
      expect(stream.frames().filter((frame) => frame.event === 'log').map((frame) => frame.id)).toEqual(['1', '6']);
    } finally {
      stream.close();
    }
  });

  it.each([
    ['task_id', '/api/logs/stream?task_id=a%20b'],
    ['task_id', '/api/logs/stream?source_id=tq-a&task_id=a%2Fb'],
    ['q', `/api/logs/stream?q=${'x'.repeat(5000)}`],
  ])('refuses a bad %s with a 400 naming it, as GET /api/logs does', async (field, path) => {
    const stream = await fetch(`${hub.url}${path}`);
    expect([stream.status, ((await stream.json()) as { field: string }).field]).toEqual([400, field]);
    const page = await fetch(`${hub.url}${path.replace('/stream', '')}`);
    expect([page.status, ((await page.json()) as { field: string }).field]).toEqual([400, field]);
  });
});
