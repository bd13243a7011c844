/**
 * The UI opened while its hub does not answer (restarting behind its reverse proxy, which says
 * 502): the page said "the hub answered 502" and stayed so until a reload, its live streams never
 * opened. Now it asks again every few seconds and shows the page once the hub answers.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../../src/server/listen.js';
import { tempDir } from '../helpers.js';
import { errorsOf } from './browser.js';
import { describeInBrowser, useBrowser } from './suite.js';

describeInBrowser('the UI behind a proxy whose hub is away', () => {
  let hub: RunningHub;
  let proxy: Server;
  let proxyUrl: string;
  /** while true, the proxy answers every API call 502, as nginx does when its upstream is down */
  let hubAway = true;
  beforeAll(async () => {
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), basePath: '/runlog' }, { audit: () => {} });
    const upstream = new URL(hub.url);
    proxy = createServer((incoming, answer) => {
      if (hubAway && incoming.url?.includes('/api/')) {
        answer.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
        return;
      }
      const forward = request({ host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, (reply) => {
        answer.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(answer);
      });
      forward.on('error', () => answer.destroy());
      answer.on('close', () => forward.destroy());
      incoming.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/runlog/`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await hub.close();
  });
  const browser = useBrowser();

  it('says the hub is not answering, then shows the page once it answers, without a reload', async () => {
    const created = await fetch(`${hub.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'back-again', command: 'seeded' }) });
    expect(created.status).toBe(201);
    const page = await browser.open(`${proxyUrl}#/runs`);
    await page.getByText('the hub answered 502').waitFor({ timeout: 20_000 });
    hubAway = false;
    await page.getByText('back-again').first().waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('connecting').count()).toBe(0);
    expect(errorsOf(page)).toEqual([]);
  });
});
