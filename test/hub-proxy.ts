/**
 * A test hook in front of a real hub: forwards every request, counts them by route, and may answer
 * some itself (a lease renewal that asks for a cancel, before the hub has the route).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface HubProxy {
  url: string;
  /** requests seen, by `METHOD /path` with ids replaced by `:id` */
  counts: Map<string, number>;
  /** the X-Runlog-Writer header of each request, by route */
  writers: Map<string, Set<string>>;
  close(): Promise<void>;
}

export type Answer = { status: number; body: unknown } | undefined;

export async function hubProxy(
  target: string,
  answer: (method: string, path: string) => Answer = () => undefined,
  /** ms to hold a request before forwarding it (a slow hub) */
  delayMs: (method: string, path: string) => number = () => 0,
): Promise<HubProxy> {
  const counts = new Map<string, number>();
  const writers = new Map<string, Set<string>>();
  const targetUrl = new URL(target);
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = `${req.method} ${path.replace(/^\/api\/(runs|tasks)\/[^/]+/, '/api/$1/:id')}`;
    counts.set(route, (counts.get(route) ?? 0) + 1);
    const writer = req.headers['x-runlog-writer'];
    if (typeof writer === 'string') writers.set(route, (writers.get(route) ?? new Set()).add(writer));
    const own = answer(req.method ?? 'GET', path);
    if (own) {
      req.resume();
      res.writeHead(own.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(own.body));
      return;
    }
    const delay = delayMs(req.method ?? 'GET', path);
    if (delay > 0) setTimeout(() => forward(req, res), delay);
    else forward(req, res);
  });
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = httpRequest({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers }, (answerFromHub) => {
      res.writeHead(answerFromHub.statusCode ?? 502, answerFromHub.headers);
      answerFromHub.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    writers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
