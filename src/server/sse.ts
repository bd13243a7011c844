/**
 * One SSE client: its position (the last seq sent), its queue bound, and its buffer while a
 * backlog is read. A client that reads slower than lines arrive is dropped once its queue passes
 * the bound: capture and the other viewers never wait for it, and it resumes with Last-Event-ID.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { HubConfig } from '../core/config.js';
import { logFrames, logsFrames, LOGS_PER_EVENT, recordJson, sseFrame, SSE_PING } from '../core/sse.js';
import { LEVEL_RANK, type Level, type LogRecord } from '../core/record.js';
import type { SystemLog } from '../store/store.js';
import type { LiveEvent, LiveFanout, RecordBatch } from '../pipeline/live.js';
import type { BatchClock } from '../pipeline/batch-clock.js';
import type { GapReader } from './worker-gaps.js';
import { checkInt, intParam, type Query } from './params.js';

const SSE_RETRY_MS = 1000;
/**
 * Batched subscribers get live lines at most this late, gathered into one `logs` event: at
 * thousands of lines a second that is a few events a second instead of hundreds, and the web UI
 * draws new lines only every 250 ms anyway. A stream's batched subscribers are released together
 * (batch-clock.ts): those caught up share one frame.
 */
export const BATCH_HOLD_MS = 50;

/**
 * Where a client resumes a stream of seqs: its Last-Event-ID (a reconnecting EventSource), else
 * `?after=`; undefined: neither. Both are checked whenever given.
 */
export function resumePoint(request: FastifyRequest): number | undefined {
  const after = intParam(request.query as Query, 'after', 0);
  const header = request.headers['last-event-id'];
  return typeof header === 'string' && header !== '' ? checkInt(header, 'Last-Event-ID', 0) : after;
}

/**
 * Sends a stream's stored lines after its position, page by page (`read` gives up to `pageSize`
 * after a seq, `send` writes them), at the pace the client reads. False: the client went meanwhile.
 */
export async function sendBacklog<T>(stream: SubscriberStream, pageSize: number, read: (after: number) => Promise<T[]>, send: (page: T[]) => void): Promise<boolean> {
  for (;;) {
    const page = await read(stream.lastSent);
    if (stream.closed) return false;
    send(page);
    if (page.length < pageSize) return true;
    await stream.drained();
  }
}

/** Takes the response over for an event stream, subscribed to `topic`, pinged, cleaned up on close. */
export function openSse(
  reply: FastifyReply,
  live: LiveFanout,
  topic: string,
  config: Readonly<HubConfig>,
  { lastSent = 0, batched = false, readGap, minLevel, match }: { lastSent?: number; batched?: boolean; readGap?: GapReader; minLevel?: Level | undefined; match?: LineMatch | undefined } = {},
): SubscriberStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no', // no proxy buffering: lines must arrive as they happen
  });
  res.write(`retry: ${SSE_RETRY_MS}\n\n`); // how soon a dropped client comes back
  const clock = batched ? live.batchClock(topic, BATCH_HOLD_MS) : undefined;
  const stream = new SubscriberStream(res, config.sseMaxQueuedBytes, lastSent, clock, readGap, minLevel, match);
  // subscribed at once: the clock goes with the topic's last subscriber
  const unsubscribe = live.subscribe(
    topic,
    (event) => stream.onLive(event),
    () => (stream.isLive ? stream.lastSent : undefined),
  );
  // a stream outlives the request that checked its token: each ping asks again, and a revoked or
  // expired token ends it with an `error` event saying why (the client's reconnection is refused)
  const lapsed = reply.request.auth?.lapsed;
  let asking = false;
  const ping = setInterval(() => {
    stream.write(SSE_PING);
    if (lapsed === undefined || asking) return;
    asking = true;
    lapsed()
      .then((lapse) => lapse !== undefined && stream.end(sseFrame('error', lapse)))
      .catch(() => {}) // the store did not answer: asked again at the next ping
      .finally(() => (asking = false));
  }, config.ssePingMs);
  stream.onClose(() => {
    unsubscribe();
    clearInterval(ping);
  });
  return stream;
}

/** `/api/logs/stream?task_id=&q=`: whether a worker line is one the client asked for (its level is `minLevel`'s) */
export type LineMatch = (line: SystemLog) => boolean;

/** a live line of one worker: its frame and its seq */
type WorkerLine = Extract<LiveEvent, { type: 'log' }> & { seq: number };

/** One SSE client: its own position (the last seq sent), its queue bound, and its buffer while the backlog is read. */
export class SubscriberStream {
  closed = false;
  private live = false;
  private ended = false;
  private readonly buffered: LiveEvent[] = [];
  private readonly closeHandlers: (() => void)[] = [];
  /** batched: live lines (as JSON, with their seqs) waiting for the hold to end */
  private held: string[] = [];
  private heldSeqs: number[] = [];
  private readonly releaseHeld = () => this.release();
  /** one worker's live lines that came while the gap before them is read from the store */
  private waiting: WorkerLine[] = [];
  private filling = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly maxQueuedBytes: number,
    public lastSent: number,
    /** given: lines as `logs` events (arrays) rather than a `log` event each, held by this clock */
    private readonly clock?: BatchClock,
    /** one worker's lines where they can come out of seq order (PostgreSQL): reads a gap (worker-gaps.ts) */
    private readonly readGap?: GapReader,
    /**
     * `?level=`: lines below it are not sent, but still passed (lastSent moves over them): a
     * backlog page of lines all below it is read past, and they are no gap to read again
     */
    minLevel?: Level,
    /** worker lines only: those it refuses are passed as lines below `minLevel` are */
    private readonly match?: LineMatch,
  ) {
    this.minRank = minLevel === undefined ? 0 : LEVEL_RANK[minLevel];
    res.on('close', () => this.close());
  }

  private readonly minRank: number;

  private shows(level: Level | undefined): boolean {
    return level === undefined || LEVEL_RANK[level] >= this.minRank;
  }

  /** a worker line, live (its event carries it) or from the store */
  private showsLine(level: Level | undefined, line: SystemLog | undefined): boolean {
    return this.shows(level) && (this.match === undefined || line === undefined || this.match(line));
  }

  /** past its backlog: what it has sent is its position in the stream */
  get isLive(): boolean {
    return this.live;
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
    const fresh = records.filter((record) => record.seq > this.lastSent);
    if (fresh.length === 0) return;
    this.lastSent = fresh[fresh.length - 1]!.seq;
    const shown = this.minRank === 0 ? fresh : fresh.filter((record) => this.shows(record.level));
    if (shown.length === 0) return;
    this.write(this.clock !== undefined ? logsFrames(shown.map(recordJson), shown.map((record) => record.seq)) : logFrames(shown));
  }

  goLive(): void {
    this.live = true;
    for (const event of this.buffered.splice(0)) {
      // a worker line its backlog sent already (one worker's stream, resumed)
      if (event.type === 'log' && event.seq !== undefined && event.seq <= this.lastSent) continue;
      this.deliver(event);
    }
  }

  /** One worker's stored lines (its backlog), each with its seq as the event id. */
  sendSystemLines(lines: readonly SystemLog[]): void {
    const fresh = lines.filter((line) => line.seq > this.lastSent);
    if (fresh.length === 0) return;
    this.lastSent = fresh[fresh.length - 1]!.seq;
    const shown = fresh.filter((line) => this.showsLine(line.level, line));
    if (shown.length > 0) this.write(shown.map((line) => sseFrame('log', line, line.seq)).join(''));
  }

  end(frame: string): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    this.release();
    this.write(frame);
    this.close();
  }

  write(text: string | Buffer): void {
    if (this.closed) return;
    this.res.write(text);
    // too slow a reader: drop it at once (destroy frees its queue; it resumes with Last-Event-ID)
    if (this.res.writableLength > this.maxQueuedBytes) this.close(true);
  }

  drained(): Promise<void> {
    // 'drain' comes only after a write that filled the buffer: a page of lines all below `?level=`
    // writes nothing, and waiting for it then would wait until the client went
    if (!this.res.writableNeedDrain || this.closed) return Promise.resolve();
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
    this.clock?.cancel(this.releaseHeld);
    for (const handler of this.closeHandlers) handler();
    if (abort) this.res.destroy();
    else this.res.end();
  }

  private deliver(event: LiveEvent): void {
    if (event.type === 'records') {
      // lines of this stream: their seq orders them against the backlog
      const { batch } = event;
      if (batch.lastSeq <= this.lastSent) return;
      if (this.clock !== undefined) this.hold(batch, this.lastSent, this.clock);
      else {
        // with a level, lines below it are left out: the text shared by every subscriber will not do
        const text = this.minRank === 0 ? batch.framesAfter(this.lastSent) : logFrames(batch.records.filter((record) => record.seq > this.lastSent && this.shows(record.level)));
        if (text.length > 0) this.write(text);
      }
      this.lastSent = batch.lastSeq;
    } else if (event.type === 'log' && event.seq !== undefined) {
      this.deliverLine({ ...event, seq: event.seq });
    } else if ((event.type === 'log' || event.type === 'progress') && !this.shows(event.level)) {
      return; // every worker's lines, a run's progress bar: below the level asked for
    } else if (event.type === 'log' && !this.showsLine(event.level, event.line)) {
      return; // every worker's lines: another task's, or without the text asked for
    } else if (event.type === 'end') {
      this.end(event.frame);
    } else {
      this.release(); // the lines before a progress update go first: a line ends its bar
      this.write(event.frame);
    }
  }

  /**
   * One worker's live line, in seq order where lines can come out of it (see worker-gaps.ts): a
   * line past a gap waits while the gap is read from the store, and a line sent from there is not
   * sent again. Without a gap reader (one process writes the store) it goes as it comes.
   */
  private deliverLine(line: WorkerLine): void {
    if (this.filling) {
      this.waiting.push(line);
      return;
    }
    if (this.readGap !== undefined) {
      if (line.seq <= this.lastSent) return; // sent already, read from the store before its notice came
      if (line.seq > this.lastSent + 1) return this.fillGap(line);
    }
    this.lastSent = Math.max(this.lastSent, line.seq);
    if (this.showsLine(line.level, line.line)) this.write(line.frame);
  }

  private fillGap(line: WorkerLine): void {
    this.filling = true;
    this.waiting.push(line);
    this.readGap!(this.lastSent, line.seq - 1)
      .then(
        (lines) => this.sendSystemLines(lines),
        () => {}, // the store did not answer: the lines go on as they came
      )
      .finally(() => {
        this.filling = false;
        for (const next of this.waiting.splice(0).sort((a, b) => a.seq - b.seq)) {
          // the line that waited goes even when the store lacks a seq before it: a gap it cannot fill
          if (next === line && !this.filling && next.seq > this.lastSent) {
            this.lastSent = next.seq;
            if (this.showsLine(next.level, next.line)) this.write(next.frame);
          } else this.deliverLine(next);
        }
      });
  }

  /** Keeps the batch's lines past `after` until the clock's tick, or at once when a full event's worth waits. */
  private hold(batch: RecordBatch, after: number, clock: BatchClock): void {
    const { records, json } = batch;
    for (let index = 0; index < records.length; index++) {
      if (records[index]!.seq <= after || !this.shows(records[index]!.level)) continue;
      this.held.push(json[index]!);
      this.heldSeqs.push(records[index]!.seq);
    }
    if (this.held.length >= LOGS_PER_EVENT) this.release();
    else if (this.held.length > 0) clock.schedule(this.releaseHeld);
  }

  /**
   * Sends the held lines now, as `logs` events of up to LOGS_PER_EVENT: without a level, the
   * frames every subscriber holding the same lines shares (see BatchClock).
   */
  private release(): void {
    this.clock?.cancel(this.releaseHeld);
    if (this.held.length === 0) return;
    const [held, seqs] = [this.held, this.heldSeqs];
    this.held = [];
    this.heldSeqs = [];
    const build = () => logsFrames(held, seqs);
    const key = `${seqs[0]}-${seqs[seqs.length - 1]}-${seqs.length}`;
    this.write(this.minRank === 0 && this.clock !== undefined ? this.clock.frames(key, build) : build());
  }
}
