/**
 * POST /api/runs/:id/text: lines that come as a body, for anything that can only `curl` a file.
 *
 * - `text/plain`: the body's bytes go through the same LineSplitter, progress collapser and
 *   level detection as a command's captured output (RecordBuilder), numbered after the run's last
 *   stored seq. The body is streamed, never held whole: it is stored in batches as it arrives, so
 *   a 20 MB log costs no more memory than a small one, and a body cut off midway keeps the lines
 *   that came. Up to TEXT_MAX_BYTES per request; `gzip` content encoding accepted.
 * - `application/x-ndjson`: one record per line, the fields of POST /api/runs/:id/logs with
 *   `seq`, `timestamp` and `level` optional (numbered by the hub, now, INFO). Checked whole
 *   before anything is stored: a bad line is a 400 naming it, and nothing of the request is kept.
 *   Up to NDJSON_MAX_BYTES per request.
 * Either may start with a UTF-8 BOM (Windows tools write one): it is skipped. A body in another
 * charset says so (`; charset=windows-1252`) and is transcoded to UTF-8 (charset.ts).
 *
 * The run is created when it does not exist (status running, `?name=` its name); `?final=1` ends
 * it (completed) once the lines are stored.
 */
import { createGunzip } from 'node:zlib';
import { Readable, Stream, pipeline } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RunlogError, badRequest } from '../../core/errors.js';
import { nowMicros, type LogRecord, type ProgressUpdate } from '../../core/record.js';
import { RecordBuilder } from '../../pipeline/records.js';
import { parseBatch } from '../ingest.js';
import { prototypeKey } from '../json-body.js';
import { contentEncoding, inflated } from '../body-encoding.js';
import type { HubContext } from '../context.js';
import { assertNumbered, type StreamNumbering } from '../numbering.js';
import { fullDetail, isDiskFull, StoreFullAfter } from '../storage.js';
import { openRun } from '../open-run.js';
import { boolParam, runIdParam, textParam, type Query } from '../params.js';
import { LIMITS } from '../../core/limits.js';
import { chunksWithoutBom, withoutBom } from '../../core/text.js';
import { bodyCharset, transcode, transcoded } from '../charset.js';

export const TEXT_MAX_BYTES = 1024 * 1024 * 1024; // 1 GiB of text per request, streamed
export const NDJSON_MAX_BYTES = 64 * 1024 * 1024; // 64 MiB of NDJSON per request, checked whole before it is stored
const BATCH_LINES = 5000; // text lines stored per transaction while the body streams in

export async function textRoutes(app: FastifyInstance, options: { context: HubContext; numbering: StreamNumbering }): Promise<void> {
  const { context, numbering } = options;
  const { store, live, config } = context;
  app.removeAllContentTypeParsers();
  // text: the request stream itself, read by the handler as it arrives
  app.addContentTypeParser('text/plain', (_request, payload, done) => done(null, payload));
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'buffer', bodyLimit: NDJSON_MAX_BYTES }, (_request, body, done) => done(null, body));

  app.post('/api/runs/:id/text', { config: { scope: 'write' } }, async (request) => {
    const id = runIdParam((request.params as { id: string }).id);
    const query = request.query as Query;
    const final = boolParam(query, 'final');
    const name = textParam(query, 'name');
    if (name !== undefined && Buffer.byteLength(name) > LIMITS.nameBytes) throw badRequest('name', `longer than ${LIMITS.nameBytes} bytes`);
    const ndjson = (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-ndjson');
    const charset = bodyCharset(request.headers['content-type']);
    // NDJSON is checked whole before the run is touched: a bad request leaves no trace
    const parsed = ndjson ? parseNdjson(id, transcode(inflated(request, request.body as Buffer, NDJSON_MAX_BYTES), charset), config.maxLineBytes) : undefined;
    // the run is made once there is something to keep: a request refused whole (bad gzip before
    // any line, NDJSON past the last seq) leaves no empty run behind
    const open = () => openRun(context, request, id, name === undefined ? {} : { name });
    const result = await numbering.exclusive(id, (lastSeq) =>
      parsed === undefined ? storeText(id, bodyStream(request), charset, lastSeq, open, () => request.raw.socket?.destroyed === true) : storeNdjson(id, parsed, lastSeq, open),
    );
    if (final) {
      const run = await store.finishRun(id, { status: 'completed', completed_at: nowMicros() });
      if (run) {
        live.publishEnd(run);
        live.publishRun(run);
      }
    }
    return { run_id: id, ...result };
  });

  async function storeText(id: string, body: Readable, charset: string | undefined, lastSeq: number, open: () => Promise<unknown>, clientGone: () => boolean): Promise<Stored> {
    let opened = false;
    const openOnce = async () => {
      if (opened) return;
      await open();
      opened = true;
    };
    let pending: LogRecord[] = [];
    let progress: ProgressUpdate | undefined;
    const builder = new RecordBuilder({
      stream: id,
      lastSeq,
      maxLineBytes: config.maxLineBytes,
      sink: { record: (record) => pending.push(record), progress: (update) => (progress = update) },
    });
    const source = builder.source('file');
    let inserted = 0;
    let lastStored = lastSeq;
    // the body's end, or why it stopped early (the limit, bad gzip, a client gone): in every
    // case the lines received are stored, the last one even without its newline; a body that
    // stopped early mid-line marks that last line `truncated` (it is a fragment, not the line)
    let stopped: RunlogError | undefined;
    let bytes = 0;
    let lastByte = -1;
    const flush = async () => {
      // a body that came whole with no bytes at all makes the run too (an empty file, ?final=1)
      if (pending.length > 0 || stopped === undefined) await openOnce();
      const batch = pending;
      pending = [];
      // what fits below the largest seq is stored before the rest is refused
      const stored = await store.appendRecords(id, batch.filter((record) => Number.isSafeInteger(record.seq)));
      inserted += stored.length;
      lastStored = stored.at(-1)?.seq ?? lastStored;
      live.publishRecords(id, stored);
      if (progress !== undefined) live.publishProgress(id, [progress]);
      progress = undefined;
      assertNumbered(id, batch);
    };
    // the body, read and stored as it comes
    const readAll = async (): Promise<void> => {
      // a UTF-16 body's BOM is the decoder's to drop; a UTF-8 one, chunksWithoutBom's
      const chunks = chunksWithoutBom(charset === undefined ? body : transcoded(body, charset))[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await chunks.next();
        } catch (error) {
          stopped = bodyError(error, bytes);
          break;
        }
        if (next.done) break;
        // a gzip body inflates long after its bytes came: once its client is gone, nobody waits for it
        if (clientGone()) {
          stopped = badRequest('body', `the client went away after ${bytes} bytes: the lines before were stored`);
          break;
        }
        const buffer = next.value as Buffer;
        // the body's first bytes came (and inflated): the run is there from now on, seen while the rest streams
        await openOnce();
        bytes += buffer.length;
        if (bytes > TEXT_MAX_BYTES) {
          // the rest is left unread: Node closes the connection once the 413 is sent
          stopped = new RunlogError(413, 'PAYLOAD_TOO_LARGE', `at most ${TEXT_MAX_BYTES} bytes of text per request: the lines before the limit were stored`);
          break;
        }
        source.push(buffer);
        if (buffer.length > 0) lastByte = buffer[buffer.length - 1] as number;
        if (pending.length >= BATCH_LINES) await flush();
      }
      source.end();
      const cutLine = stopped !== undefined && lastByte !== -1 && lastByte !== 0x0a && lastByte !== 0x0d ? pending.at(-1) : undefined;
      if (cutLine !== undefined) cutLine.attrs = { ...cutLine.attrs, truncated: true };
      await flush();
    };
    try {
      await readAll();
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      // lines are numbered by the hub: the same body again would store those lines a second time
      const detail = fullDetail(error);
      throw new StoreFullAfter(
        detail,
        `the hub's store is full (${detail}) after ${inserted} lines of this body were stored (the run's last seq is ${lastStored}): ` +
          'once it has room, send only what came after them (the whole body again would store them twice)',
      );
    }
    if (stopped) throw stopped;
    return { inserted, last_seq: builder.lastSeq };
  }

  async function storeNdjson(id: string, records: ParsedLine[], lastSeq: number, open: () => Promise<unknown>): Promise<Stored> {
    let next = lastSeq;
    const numbered = records.map(({ record, numbered: hasSeq }) => {
      if (hasSeq) next = Math.max(next, record.seq);
      else record.seq = ++next;
      return record;
    });
    assertNumbered(id, numbered);
    await open();
    const stored = await store.appendRecords(id, numbered);
    live.publishRecords(id, stored);
    return { inserted: stored.length, last_seq: Math.max(lastSeq, next) };
  }
}

interface Stored {
  inserted: number;
  last_seq: number;
}

interface ParsedLine {
  record: LogRecord;
  /** the sender gave its seq */
  numbered: boolean;
}

/** One record per line; blank lines are skipped. A bad line: 400 `line N: …`. */
export function parseNdjson(stream: string, body: Buffer, maxLineBytes: number): ParsedLine[] {
  const lines = withoutBom(body).toString('utf8').split('\n');
  const parsed: ParsedLine[] = [];
  const now = nowMicros();
  // a seq given twice in one body: the same line twice is kept once, two different lines are a 400
  // (the store would keep the first and drop the other under a 200)
  const bySeq = new Map<number, { at: string; record: LogRecord }>();
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    const at = `line ${index + 1}`;
    let item: unknown;
    try {
      item = JSON.parse(text);
    } catch (error) {
      throw badRequest(at, `not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    // the JSON routes' rule (json-body.ts): a key that could set a prototype is refused, here too
    const forbidden = prototypeKey(item, text);
    if (forbidden !== undefined) throw badRequest(`${at}.${forbidden.path}`, `${forbidden.what} is not allowed (it could set an object's prototype)`);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw badRequest(at, 'expected a JSON object');
    const raw = item as Record<string, unknown>;
    const numbered = raw.seq !== undefined && raw.seq !== null;
    // a placeholder seq that parseBatch accepts; the hub numbers the line when it stores it
    const filled = { ...raw, seq: numbered ? raw.seq : 1, timestamp: raw.timestamp ?? now, level: raw.level ?? 'INFO' };
    let record: LogRecord | undefined;
    try {
      [record] = parseBatch(stream, { records: [filled] }, maxLineBytes).records;
    } catch (error) {
      if (error instanceof RunlogError) throw badRequest(at, error.message.replace(/^records\[0\]\.?/, ''));
      throw error;
    }
    if (record === undefined) return;
    if (numbered) {
      const earlier = bySeq.get(record.seq);
      if (earlier && !sameLine(earlier.record, record)) throw badRequest(`${at}.seq`, `seq ${record.seq} is also ${earlier.at}'s, with another line`);
      bySeq.set(record.seq, { at, record });
    }
    parsed.push({ record, numbered });
  });
  return parsed;
}

function sameLine(a: LogRecord, b: LogRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function bodyError(error: unknown, bytes: number): RunlogError {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return badRequest('body', `not gzip (${(error as Error).message}): the lines before it were stored`);
  }
  return badRequest('body', `cut off after ${bytes} bytes (${error instanceof Error ? error.message : String(error)}): the lines received were stored (the last, cut mid-line, marked truncated)`);
}

function bodyStream(request: FastifyRequest): Readable {
  const body = request.body instanceof Stream ? (request.body as Readable) : Readable.from([]);
  if (contentEncoding(request) !== 'gzip') return body;
  // pipeline, not pipe: an error on either side ends the other, so the reading loop sees it
  return pipeline(body, createGunzip(), () => {});
}
