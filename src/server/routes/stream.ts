/**
 * The live stream of a run's lines, as server-sent events (docs/sse.md).
 *
 * First the backlog from the store (the last lines, or everything after Last-Event-ID), then
 * live. The subscription starts before the backlog is read and buffers meanwhile; events are then
 * sent only when their seq is past the last one sent, so there is no gap and no duplicate between
 * the two. A subscriber that reads slower than lines arrive is closed once its queue passes a
 * bound: capture and the other viewers never wait for it, and it resumes with Last-Event-ID.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/errors.js';
import { SSE_PING, sseFrame } from '../../core/sse.js';
import { toWire, type LogRecord } from '../../core/record.js';
import type { LiveEvent } from '../../pipeline/live.js';
import { FINAL_STATUSES } from '../../store/store.js';
import { checkInt, idParam, intParam, type Query } from '../params.js';
import type { HubContext } from '../context.js';

const BACKLOG_PAGE = 1000;
const SSE_RETRY_MS = 1000;

export function streamRoutes(app: FastifyInstance, { store, live, config }: HubContext): void {
  app.get('/api/runs/:id/logs/stream', async (request, reply) => {
    const id = idParam((request.params as { id: string }).id);
    const query = request.query as Query;
    const header = request.headers['last-event-id'];
    const resumeFrom =
      typeof header === 'string' && header !== '' ? checkInt(header, 'Last-Event-ID', 0) : intParam(query, 'after', 0);
    const tail = intParam(query, 'tail', 0, 10_000) ?? config.sseBacklog;
    if (!(await store.getRun(id))) throw notFound(`run ${id}`);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // no proxy buffering: lines must arrive as they happen
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`); // how soon a dropped client comes back
    const stream = new SubscriberStream(res, config.sseMaxQueuedBytes, resumeFrom ?? 0);
    const unsubscribe = live.subscribe(id, (event) => stream.onLive(event));
    const ping = setInterval(() => stream.write(SSE_PING), config.ssePingMs);
    stream.onClose(() => {
      unsubscribe();
      clearInterval(ping);
    });

    try {
      if (resumeFrom === undefined) {
        const page = await store.queryLogs(id, { tail });
        stream.sendRecords(page.records);
      } else {
        // everything after the client's last id, page by page, at the pace the client reads
        for (;;) {
          const page = await store.readLogs(id, stream.lastSent, BACKLOG_PAGE);
          if (stream.closed) return;
          stream.sendRecords(page);
          if (page.length < BACKLOG_PAGE) break;
          await stream.drained();
        }
      }
      const run = await store.getRun(id);
      stream.goLive();
      if (run && FINAL_STATUSES.includes(run.status)) stream.end(sseFrame('end', run));
    } catch (error) {
      request.log.error(error, 'sse backlog failed');
      stream.close();
    }
  });
}

/** One SSE client: its own position (the last seq sent), its queue bound, and its buffer while the backlog is read. */
class SubscriberStream {
  closed = false;
  private live = false;
  private ended = false;
  private readonly buffered: LiveEvent[] = [];
  private readonly closeHandlers: (() => void)[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly maxQueuedBytes: number,
    public lastSent: number,
  ) {
    res.on('close', () => this.close());
  }

  onClose(handler: () => void): void {
    this.closeHandlers.push(handler);
  }

  onLive(event: LiveEvent): void {
    if (this.closed) return;
    if (!this.live) {
      this.buffered.push(event);
      // the backlog is taking too long for the rate lines arrive at: same remedy as a slow reader
      if (this.buffered.length > 100_000) this.close(true);
      return;
    }
    this.deliver(event);
  }

  sendRecords(records: readonly LogRecord[]): void {
    let text = '';
    for (const record of records) {
      if (record.seq <= this.lastSent) continue;
      text += sseFrame('log', toWire(record), record.seq);
      this.lastSent = record.seq;
    }
    if (text !== '') this.write(text);
  }

  goLive(): void {
    this.live = true;
    for (const event of this.buffered.splice(0)) this.deliver(event);
  }

  end(frame: string): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    this.write(frame);
    this.close();
  }

  write(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    // too slow a reader: drop it at once (destroy frees its queue; it resumes with Last-Event-ID)
    if (this.res.writableLength > this.maxQueuedBytes) this.close(true);
  }

  drained(): Promise<void> {
    if (this.res.writableLength === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  close(abort = false): void {
    if (this.closed) return;
    this.closed = true;
    for (const handler of this.closeHandlers) handler();
    if (abort) this.res.destroy();
    else this.res.end();
  }

  private deliver(event: LiveEvent): void {
    if (event.type === 'log') {
      if (event.seq <= this.lastSent) return;
      this.lastSent = event.seq;
      this.write(event.frame);
    } else if (event.type === 'end') {
      this.end(event.frame);
    } else {
      this.write(event.frame);
    }
  }
}
