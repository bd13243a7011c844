/**
 * Server-sent event frames (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * `data` is one line of JSON: JSON.stringify escapes every newline, so a frame can never be cut
 * short or forged by what a job prints.
 */
import { toWire, type LogRecord } from './record.js';

export function sseFrame(event: string, data: unknown, id?: number): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return `${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const SSE_PING = ': ping\n\n';

/** records in one `logs` event at most: a backlog of 10,000 lines goes as 10 events */
export const LOGS_PER_EVENT = 1000;

/** A `log` event per record, its id the record's seq. */
export function logFrames(records: readonly LogRecord[]): string {
  let text = '';
  for (const record of records) text += sseFrame('log', toWire(record), record.seq);
  return text;
}

/**
 * The batched form (`?batch=1`): a `logs` event whose data is a JSON array of records, given here
 * already as JSON each; the id is the last seq in it, so Last-Event-ID resumes exactly where the
 * client stopped. For a browser taking thousands of lines a second, one event per line costs more
 * than the lines themselves.
 */
export function logsFrame(recordsJson: readonly string[], lastSeq: number): string {
  return `id: ${lastSeq}\nevent: logs\ndata: [${recordsJson.join(',')}]\n\n`;
}

/** A record as it goes in a `logs` event's array. */
export function recordJson(record: LogRecord): string {
  return JSON.stringify(toWire(record));
}

/**
 * `logs` events of up to LOGS_PER_EVENT records each, from the records' JSON and their seqs (in
 * step, in seq order).
 */
export function logsFrames(recordsJson: readonly string[], seqs: readonly number[]): string {
  let text = '';
  for (let start = 0; start < recordsJson.length; start += LOGS_PER_EVENT) {
    const end = Math.min(start + LOGS_PER_EVENT, recordsJson.length);
    text += logsFrame(recordsJson.slice(start, end), seqs[end - 1]!);
  }
  return text;
}
