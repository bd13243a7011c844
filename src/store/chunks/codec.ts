/**
 * The chunk codec: many lines of one stream in one compressed blob, shared by the SQLite and
 * PostgreSQL stores. Pure: records in, bytes out, and back.
 *
 * data    = [version 1] segment*   segment = [uvarint lines][byte levels bitmask][uvarint length][deflate-raw body]
 * body    = count, flags, then one column after another (columns compress better than rows):
 *   seq       first, then (delta − 1) for each next             uvarint   (sorted, unique)
 *   timestamp first, then deltas, zigzag                          svarint   (float64 each if any is not an integer)
 *   level     index in LEVELS                                     byte
 *   strings   interned source/phase/logger/task_id: n, lengths   uvarint
 *   4 columns source, phase, logger, task_id: 0 absent, i + 1    uvarint
 *   attrs     0 absent, JSON length + 1                          uvarint
 *   message   length                                             uvarint
 *   text      the interned strings, the messages, the attrs JSON, back to back, UTF-8 (lengths
 *             above are in UTF-16 code units, so the text decodes once and is sliced)
 * A merged chunk is its parts' segments back to back, and its bloom their blooms, in the same
 * order (see merge.ts): merging costs a copy.
 *
 * The bloom (bloom.ts) is of the plain text, lowercased: search derives it at read time from the
 * message, nothing else is stored for it. A reader may ask for some lines only (DecodeFilter): a
 * segment without the levels asked is not inflated, and only kept lines become records.
 */
import { stripVTControlCharacters } from 'node:util';
import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import { LEVELS, type Level, type LogRecord, type Phase, type Source } from '../../core/record.js';
import { foldAscii } from '../../core/text.js';
import { buildBloom } from './bloom.js';
import { ByteReader, ByteWriter } from './bytes.js';

export interface ChunkMeta {
  first_seq: number;
  last_seq: number;
  count: number;
  min_ts: number;
  max_ts: number;
  /** bit i set: a line of level LEVELS[i] is in the chunk */
  levels: number;
  /** trigram bloom of the lowercased plain text (bloom.ts) */
  bloom: Buffer;
}

export interface EncodedChunk {
  meta: ChunkMeta;
  data: Buffer;
}

const VERSION = 1;
/** deflate level: 1 is ~2× faster than 6 for a few % more bytes on log lines (see docs/ARCHITECTURE.md) */
const DEFLATE_LEVEL = 1;
const FLAG_INTEGER_TS = 1;
const LEVEL_INDEX = new Map<string, number>(LEVELS.map((level, i) => [level, i]));

/**
 * A body smaller than this is not compressed at all: it is written as deflate's *stored* blocks
 * (RFC 1951 §3.2.4, the format is unchanged and any inflate reads it), with no zlib call. A few
 * lines posted at a time (1,000 lines/s shipped every few ms) made zlib's setup the largest part
 * of a small append's cost, for a few hundred bytes saved on chunks that compaction merges and
 * compresses a few appends later (see merge.ts); only a stream's last few chunks stay stored.
 */
export const STORE_BELOW_BYTES = 4096;
/** `body` (under 64 KiB) as one deflate-raw stored block: [BFINAL=1, BTYPE=00][LEN le16][NLEN le16][bytes]. */
function storedBlock(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length + 5);
  out[0] = 1;
  out.writeUInt16LE(body.length, 1);
  out.writeUInt16LE(~body.length & 0xffff, 3);
  body.copy(out, 5);
  return out;
}

/**
 * A segment's body, inflated: one that is all stored blocks (storedBlock) is read as it is,
 * without zlib; anything else (compressed blocks, or stored ones written by zlib) goes to inflate.
 */
function inflateBody(compressed: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let at = 0;
  for (;;) {
    const header = compressed[at];
    if (header === undefined || (header & 0b110) !== 0 || at + 5 > compressed.length) return inflateRawSync(compressed);
    const length = compressed.readUInt16LE(at + 1);
    if ((compressed.readUInt16LE(at + 3) ^ 0xffff) !== length || at + 5 + length > compressed.length) return inflateRawSync(compressed);
    pieces.push(compressed.subarray(at + 5, at + 5 + length));
    at += 5 + length;
    if ((header & 1) === 1) break;
  }
  if (at !== compressed.length) return inflateRawSync(compressed);
  return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
}

/**
 * A window and hash table no bigger than the body needs: zlib's setup (allocating and clearing
 * ~256 KiB) is most of what compressing a small batch costs (a few lines posted at a time, at
 * 1,000 lines/s: ~40 → ~20 µs), and the output is the same. inflate's default window (15 bits)
 * reads every smaller one.
 */
function deflateWindow(length: number): { windowBits: number; memLevel: number } {
  const windowBits = Math.max(9, Math.min(15, Math.ceil(Math.log2(length + 262))));
  return { windowBits, memLevel: Math.max(2, Math.min(8, windowBits - 6)) };
}

/** The bit of each level in ChunkMeta.levels. */
export function levelBit(level: Level): number {
  return 1 << (LEVEL_INDEX.get(level) ?? 1);
}

/** The bits of `level` and every level above it. */
export function levelsAtLeast(level: Level): number {
  let mask = 0;
  for (let i = LEVEL_INDEX.get(level) ?? 0; i < LEVELS.length; i++) mask |= 1 << i;
  return mask;
}

/** The text search sees: ANSI codes stripped, ASCII letters lowercased. A line matches `q` when this includes foldAscii(q). */
export function searchText(message: string): string {
  return foldAscii(message.includes('\x1b') ? stripVTControlCharacters(message) : message);
}

/** Records sorted by seq with unique seqs → one chunk. */
export function encodeChunk(records: readonly LogRecord[]): EncodedChunk {
  if (records.length === 0) throw new Error('encodeChunk: no records');
  const body = encodeBody(records);
  const segment =
    body.length < STORE_BELOW_BYTES
      ? storedBlock(body)
      : deflateRawSync(body, { level: DEFLATE_LEVEL, strategy: constants.Z_DEFAULT_STRATEGY, ...deflateWindow(body.length) });
  const meta = metaOf(records);
  const data = new ByteWriter(segment.length + 16);
  data.byte(VERSION);
  data.uvarint(records.length);
  data.byte(meta.levels);
  data.uvarint(segment.length);
  data.bytes(segment);
  return { meta, data: data.result() };
}

export function metaOf(records: readonly LogRecord[]): ChunkMeta {
  let minTs = Infinity;
  let maxTs = -Infinity;
  let levels = 0;
  const messages: string[] = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as LogRecord;
    if (record.timestamp < minTs) minTs = record.timestamp;
    if (record.timestamp > maxTs) maxTs = record.timestamp;
    levels |= levelBit(record.level);
    messages[i] = record.message;
  }
  return {
    first_seq: (records[0] as LogRecord).seq,
    last_seq: (records[records.length - 1] as LogRecord).seq,
    count: records.length,
    min_ts: minTs,
    max_ts: maxTs,
    levels,
    bloom: buildBloom(messages),
  };
}

/** Which lines a reader wants: the others are never made into records. */
export interface DecodeFilter {
  /** LEVELS bits: a line of another level is skipped, a segment without any is not inflated */
  levels?: number;
  /** a further test on what is cheap to read first */
  keep?: (seq: number, timestamp: number) => boolean;
}

export function decodeChunk(stream: string, data: Buffer, filter?: DecodeFilter): LogRecord[] {
  const records: LogRecord[] = [];
  for (const segment of splitSegments(data)) {
    if (filter?.levels !== undefined && (segment.levels & filter.levels) === 0) continue;
    decodeSegment(stream, segment, records, filter);
  }
  return records;
}

export interface Segment {
  /** its lines */
  count: number;
  /** LEVELS bits of its lines */
  levels: number;
  /** the whole entry as stored: [lines][levels][length][body] */
  entry: Buffer;
  /** the compressed body */
  body: Buffer;
}

/** The segments of a chunk's data, compressed, as they are: merging concatenates them. */
export function splitSegments(data: Buffer): Segment[] {
  const reader = new ByteReader(data);
  const version = reader.byte();
  if (version !== VERSION) throw new Error(`chunk: unknown version ${version}`);
  const segments: Segment[] = [];
  while (!reader.done) {
    const start = reader.offset;
    const count = reader.uvarint();
    const levels = reader.byte();
    const body = reader.bytes(reader.uvarint());
    segments.push({ count, levels, body, entry: data.subarray(start, reader.offset) });
  }
  return segments;
}

export function decodeSegment(stream: string, segment: Segment, into: LogRecord[], filter?: DecodeFilter): void {
  decodeBody(stream, inflateBody(segment.body), into, filter);
}

export function joinSegments(entries: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.of(VERSION), ...entries]);
}

/** reused by every encode: deflate reads the body at once, and a fresh buffer per chunk is garbage */
const scratch = new ByteWriter(1 << 20);

function encodeBody(records: readonly LogRecord[]): Buffer {
  const count = records.length;
  const out = scratch;
  out.length = 0;
  out.uvarint(count);
  let integerTs = true;
  for (const record of records) {
    if (!Number.isSafeInteger(record.timestamp)) {
      integerTs = false;
      break;
    }
  }
  out.byte(integerTs ? FLAG_INTEGER_TS : 0);
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const seq = (records[i] as LogRecord).seq;
    out.uvarint(i === 0 ? seq : seq - previous - 1);
    previous = seq;
  }
  previous = 0;
  for (const record of records) {
    if (integerTs) out.svarint(record.timestamp - previous);
    else out.float64(record.timestamp);
    previous = record.timestamp;
  }
  for (const record of records) out.byte(LEVEL_INDEX.get(record.level) ?? 1);
  // interned strings: a run has a handful of distinct sources, phases, loggers, tasks
  const interned = new Map<string, number>();
  if (refScratch.length < count * 4) refScratch = new Uint32Array(count * 8);
  const refs = refScratch;
  const intern = (value: string | undefined): number => {
    if (value === undefined) return 0;
    let index = interned.get(value);
    if (index === undefined) interned.set(value, (index = interned.size));
    return index + 1;
  };
  for (let i = 0; i < count; i++) {
    const record = records[i] as LogRecord;
    refs[i] = intern(record.source);
    refs[count + i] = intern(record.phase);
    refs[2 * count + i] = intern(record.logger);
    refs[3 * count + i] = intern(record.task_id);
  }
  out.uvarint(interned.size);
  const text = new TextColumn();
  for (const value of interned.keys()) {
    out.uvarint(value.length);
    text.add(value);
  }
  for (let i = 0; i < count * 4; i++) out.uvarint(refs[i] as number);
  const attrs: string[] = [];
  for (const record of records) {
    if (record.attrs === undefined) out.uvarint(0);
    else {
      const json = JSON.stringify(record.attrs);
      attrs.push(json);
      out.uvarint(json.length + 1);
    }
  }
  for (const record of records) {
    out.uvarint(record.message.length);
    text.add(record.message);
  }
  for (const json of attrs) text.add(json);
  text.writeTo(out);
  return out.result();
}

/** the refs of encodeBody, reused: a fresh array of 4 × 5,000 numbers per chunk is a large object, fresh pages each time */
let refScratch = new Uint32Array(4 * 4096);

/**
 * encodeBody's text section, written out a piece at a time: one string of a whole chunk's text
 * would be a large object (fresh pages per chunk, see src/server/batch-body.ts), and the bytes
 * are the same. A piece never ends between the two halves of a surrogate pair.
 */
class TextColumn {
  private pending = '';
  private readonly pieces: string[] = [];

  add(value: string): void {
    if (value.length === 0) return;
    this.pending += value;
    // the last character of `value`, not of `pending`: reading into a rope would flatten it each time
    const last = value.charCodeAt(value.length - 1);
    if (this.pending.length >= 16 * 1024 && !(last >= 0xd800 && last <= 0xdbff)) {
      this.pieces.push(this.pending);
      this.pending = '';
    }
  }

  writeTo(out: ByteWriter): void {
    for (const piece of this.pieces) out.utf8(piece);
    out.utf8(this.pending);
  }
}

function decodeBody(stream: string, body: Buffer, into: LogRecord[], filter?: DecodeFilter): void {
  const reader = new ByteReader(body);
  const count = reader.uvarint();
  const integerTs = (reader.byte() & FLAG_INTEGER_TS) !== 0;
  const seqs = new Array<number>(count);
  let previous = 0;
  for (let i = 0; i < count; i++) previous = seqs[i] = i === 0 ? reader.uvarint() : previous + reader.uvarint() + 1;
  const stamps = new Array<number>(count);
  previous = 0;
  for (let i = 0; i < count; i++) previous = stamps[i] = integerTs ? previous + reader.svarint() : reader.float64();
  const levels = reader.bytes(count);
  let wanted: boolean[] | undefined;
  if (filter !== undefined) {
    wanted = new Array<boolean>(count);
    let any = false;
    for (let i = 0; i < count; i++) {
      const keep =
        (filter.levels === undefined || (filter.levels & (1 << (levels[i] as number))) !== 0) &&
        (filter.keep === undefined || filter.keep(seqs[i] as number, stamps[i] as number));
      wanted[i] = keep;
      any ||= keep;
    }
    if (!any) return;
  }
  const stringLengths = new Array<number>(reader.uvarint());
  for (let i = 0; i < stringLengths.length; i++) stringLengths[i] = reader.uvarint();
  const refs = new Array<number>(count * 4);
  for (let i = 0; i < refs.length; i++) refs[i] = reader.uvarint();
  const attrLengths = new Array<number>(count);
  for (let i = 0; i < count; i++) attrLengths[i] = reader.uvarint();
  const messageLengths = new Array<number>(count);
  for (let i = 0; i < count; i++) messageLengths[i] = reader.uvarint();
  const text = body.toString('utf8', reader.offset);
  let at = 0;
  const strings = stringLengths.map((length) => text.slice(at, (at += length)));
  const messageStarts = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    messageStarts[i] = at;
    at += messageLengths[i] as number;
  }
  for (let i = 0; i < count; i++) {
    const attrLength = attrLengths[i] as number;
    const attrStart = at;
    if (attrLength !== 0) at += attrLength - 1;
    if (wanted !== undefined && !wanted[i]) continue;
    const start = messageStarts[i] as number;
    const record: LogRecord = {
      stream,
      seq: seqs[i] as number,
      timestamp: stamps[i] as number,
      level: LEVELS[levels[i] as number] ?? 'INFO',
      message: text.slice(start, start + (messageLengths[i] as number)),
    };
    const source = refs[i] as number;
    const phase = refs[count + i] as number;
    const logger = refs[2 * count + i] as number;
    const task = refs[3 * count + i] as number;
    if (source !== 0) record.source = strings[source - 1] as Source;
    if (phase !== 0) record.phase = strings[phase - 1] as Phase;
    if (logger !== 0) record.logger = strings[logger - 1] as string;
    if (task !== 0) record.task_id = strings[task - 1] as string;
    if (attrLength !== 0) record.attrs = JSON.parse(text.slice(attrStart, attrStart + attrLength - 1)) as LogRecord['attrs'];
    into.push(record);
  }
}
