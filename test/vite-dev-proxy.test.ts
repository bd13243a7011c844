/**
 * `npm run dev:web` (the README's Web UI): the dev server proxies /api to RUNLOG_HUB. The UI's own
 * POSTs carry the dev server's Origin; the hub refused them as cross-origin, so Cancel, Delete,
 * Re-run and the sign-in failed from the dev server. Another site's Origin is still refused.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { hubOn, ROOT, tempDir } from './helpers.js';

let hub: RunningHub;
let dev: ViteDevServer;
let devUrl: string;

beforeAll(async () => {
  hub = await hubOn(tempDir());
  // read by web/vite.config.ts when the dev server loads it
  process.env.RUNLOG_HUB = hub.url;
  dev = await createServer({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'silent', server: { host: '127.0.0.1', port: 0, strictPort: false } });
  await dev.listen();
  devUrl = `http://127.0.0.1:${(dev.httpServer?.address() as AddressInfo).port}`;
});

afterAll(async () => {
  delete process.env.RUNLOG_HUB;
  await dev?.close();
  await hub?.close();
});

const postFrom = (origin: string, path: string, body: unknown) =>
  fetch(`${devUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify(body) });

it("takes the UI's POSTs through the dev server, its own Origin being the hub's page's", async () => {
  const created = await postFrom(devUrl, '/api/tasks', { id: 'dev-task', command: ['echo', 'hi'] });
  expect(created.status).toBe(201);
  const cancelled = await postFrom(devUrl, '/api/runs/dev-task/cancel', {});
  expect(cancelled.status).toBe(200);
  expect(((await cancelled.json()) as { status: string }).status).toBe('cancelled');
});

it("still refuses another site's page posting through the dev server", async () => {
  const refused = await postFrom('http://evil.example', '/api/tasks', { id: 'evil-task', command: ['echo', 'pwned'] });
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { error: string }).error).toBe('CROSS_ORIGIN');
  expect((await fetch(`${hub.url}/api/runs/evil-task`)).status).toBe(404);
});
