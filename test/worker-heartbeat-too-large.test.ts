/**
 * A worker behind a reverse proxy that limits request bodies (nginx's client_max_body_size, 1 MiB
 * by default, answers 413 with an HTML page): a heartbeat carrying more lines than the proxy takes
 * used to be dropped whole ("refused; its lines are dropped"), uncounted. It goes again in halves,
 * and a line the proxy takes under no split is counted in the worker's dropped_logs.
 */
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import type { SystemLog, Worker } from '../src/store/store.js';
import { createWorker } from '../src/sdk/index.js';
import { getJson, tempDir, waitFor } from './helpers.js';
import { noPython, pythonCode } from './python-harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A proxy to `target` answering 413 as nginx does to a body over `limit` bytes. */
async function limitingProxy(target: string, limit: number): Promise<{ url: string; refused: () => number }> {
  let refused = 0;
  const server: Server = createServer((incoming, answer) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length > limit) {
        refused++;
        answer.writeHead(413, { 'content-type': 'text/html' }).end('<html><head><title>413 Request Entity Too Large</title></head></html>\n');
        return;
      }
      const upstream = request(`${target}${incoming.url}`, { method: incoming.method, headers: { ...incoming.headers, host: new URL(target).host } }, (reply) => {
        answer.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(answer);
      });
      upstream.on('error', () => answer.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused: () => refused };
}

it('sends a heartbeat too large for a proxy again in halves, and counts a line too large for any beat in dropped_logs', async () => {
  const hub: RunningHub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), housekeepingMs: 300 });
  cleanups.push(() => hub.close());
  const proxy = await limitingProxy(hub.url, 8000);
  const worker = await createWorker({ id: 'w-big', hub: proxy.url, heartbeatMs: 60_000, bufferSize: 100, spoolDir: tempDir(), console: false });
  cleanups.push(() => worker.stop());
  const said = worker.log.child('test');
  // a full buffer (100 lines of ~300 bytes) goes at once: one beat of ~35 KB, over the proxy's 8 KB
  for (let i = 1; i <= 100; i++) said.info(`line ${i} ${'y'.repeat(300)}`);
  const onHub = async () => (await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=w-big&limit=10000`)).body.logs;
  await waitFor(async () => ((await onHub()).filter((line) => line.message.startsWith('line ')).length >= 100 ? true : undefined), 30_000, 'the 100 lines on the hub');
  expect(proxy.refused()).toBeGreaterThan(0);
  const lines = (await onHub()).filter((line) => line.message.startsWith('line '));
  expect(lines.map((line) => line.message).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i + 1} ${'y'.repeat(300)}`).sort());
  expect(new Set(lines.map((line) => line.seq)).size).toBe(100);
  // a line larger than the proxy takes alone cannot pass: counted in dropped_logs, not silently gone;
  // the worker's own warnings about both refusals reach the hub
  said.info(`huge ${'z'.repeat(9000)}`);
  await worker.stop(); // its last beat refused: the count goes in one more
  const trouble = (await onHub()).filter((line) => line.message.startsWith('hub refused a heartbeat')).map((line) => line.message).join('\n');
  expect(trouble).toMatch(/413.*sending it again in two halves/);
  expect(trouble).toMatch(/413.*its 1 lines are dropped \(counted in dropped_logs\)/);
  expect((await getJson<Worker>(`${hub.url}/api/workers/w-big`)).body.dropped_logs).toBe(1);
  expect((await onHub()).some((line) => line.message.startsWith('huge '))).toBe(false);
});

it.skipIf(noPython !== undefined)("the Python client's Worker does the same: halves on 413, a line too large counted", async () => {
  const hub: RunningHub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), housekeepingMs: 300 });
  cleanups.push(() => hub.close());
  const proxy = await limitingProxy(hub.url, 8000);
  const program = pythonCode(
    [
      'import runlog',
      'w = runlog.Worker("py-big", heartbeat_interval=60).start()',
      'for i in range(1, 101): w.logger.info("line %d %s" % (i, "y" * 300))',
      'w.logger.info("huge " + "z" * 9000)',
      'w.stop()',
    ],
    { RUNLOG_HUB: proxy.url, LOG_BUFFER_SIZE: '100' },
  );
  const result = await program.done;
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/413.*sending it again in halves/);
  const lines = (await getJson<{ logs: SystemLog[] }>(`${hub.url}/api/logs?source_id=py-big&limit=10000`)).body.logs;
  expect(proxy.refused()).toBeGreaterThan(0);
  expect(lines.filter((line) => line.message.startsWith('line ')).map((line) => line.message).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i + 1} ${'y'.repeat(300)}`).sort());
  expect(lines.some((line) => line.message.startsWith('huge '))).toBe(false);
  expect((await getJson<Worker>(`${hub.url}/api/workers/py-big`)).body.dropped_logs).toBe(1);
});
