/**
 * `/runlog//` (a doubled slash under --base-path, as a hand-typed or proxy-joined URL has): the UI
 * loaded, but every API call it made (relative: `/runlog//api/runs`) found no route, so the page
 * showed no run. Duplicate slashes are now ignored by the hub's router.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../../src/server/listen.js';
import { tempDir } from '../helpers.js';
import { errorsOf } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

describeInBrowser('the UI at /runlog// (a doubled slash)', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), basePath: '/runlog' }, { audit: () => {} });
  });
  afterAll(async () => {
    await hub.close();
  });
  const browser = useBrowser();

  it('lists the runs, as at /runlog/', async () => {
    const created = await fetch(`${hub.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'doubled-slash', command: 'seeded' }) });
    expect(created.status).toBe(201);
    const page = await browser.open(`${new URL(hub.url).origin}/runlog//#/runs`);
    await page.getByText('doubled-slash').first().waitFor({ timeout: 20_000 });
    expect(errorsOf(page)).toEqual([]);
  });

  it('answers the API under doubled slashes, and still redirects nothing that starts with //', async () => {
    const origin = new URL(hub.url).origin;
    expect((await fetch(`${origin}/runlog//api/runs/doubled-slash`)).status).toBe(200);
    expect((await fetch(`${origin}/runlog///api//runs`)).status).toBe(200);
    const answer = await fetch(`${origin}//runlog`, { redirect: 'manual' });
    expect(answer.status).toBe(404);
    expect(answer.headers.get('location')).toBeNull();
  });
});
