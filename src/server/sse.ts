/**
 * One SSE client: its position (the last seq sent), its queue bound, and its buffer while a
 * backlog is read. A client that reads slower than lines arrive is dropped once its queue passes
 * the bound: capture and the other viewers never wait for it, and it resumes with Last-Event-ID.
 */
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { HubConfig } from '../core/config.js';
import { SSE_PING, sseFrame } from '../core/sse.js';
import { toWire, type LogRecord } from '../core/record.js';
import type { LiveEvent, LiveFanout } from '../pipeline/live.js';

const SSE_RETRY_MS = 1000;

/** Takes the response over for an event stream, subscribed to `topic`, pinged, cleaned up on close. */
export function openSse(reply: FastifyReply, live: LiveFanout, topic: string, config: Readonly<HubConfig>, lastSent = 0): SubscriberStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no', // no proxy buffering: lines must arrive as they happen
  });
  res.write(`retry: ${SSE_RETRY_MS}\n\n`); // how soon a dropped client comes back
  const stream = new SubscriberStream(res, config.sseMaxQueuedBytes, lastSent);
  const unsubscribe = live.subscribe(topic, (event) => stream.onLive(event));
  const ping = setInterval(() => stream.write(SSE_PING), config.ssePingMs);
  stream.onClose(() => {
    unsubscribe();
    clearInterval(ping);
  });
  return stream;
}

/** One SSE client: its own position (the last seq sent), its queue bound, and its buffer while the backlog is read. */
export class SubscriberStream {
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
    if (event.type === 'log' && event.seq > 0) {
      // a line of this stream: its seq orders it against the backlog
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
