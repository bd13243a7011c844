/**
 * Following a run live over SSE, for `runlog logs -f` and `runlog submit --wait`: its lines as they
 * come, and on a terminal its progress bar drawn in place (`\r`, SSE `progress` events), which a
 * line from the run then replaces; the bar's final state arrives as a line of its own, so it stays.
 * Into a pipe or a file, only lines.
 */
import { EventSource } from 'eventsource';
import { lapseText } from './follow-worker.js';
import type { LogRecord, ProgressUpdate, WireRecord } from '../core/record.js';
import { terminalSafe } from '../core/terminal.js';
import type { Run } from '../store/store.js';
import { hubFetch } from '../sinks/hub-http.js';
import { fromWire } from './hub-client.js';

export interface FollowOptions {
  /** `after=0` (everything) or `tail=N` */
  params: string;
  print(record: LogRecord): void;
  /** draw progress bars in place (a terminal) */
  progress: boolean;
  /** give up after this long (ms) */
  timeoutMs?: number;
}

const CLEAR_LINE = '\r\x1b[K';

/** The run did not end in the time given (it may be queued, not running: the caller looks). */
export class WaitTimeout extends Error {
  constructor(runId: string, readonly seconds: number) {
    super(`run ${runId} has not ended after ${seconds}s`);
  }
}

/** Resolves with the run as it ended (the `end` event), or rejects when the hub refuses the stream. */
export function followRun(hub: string, runId: string, options: FollowOptions): Promise<Run | undefined> {
  const out = process.stdout;
  let bar = false; // a bar is drawn on the current terminal line
  const clearBar = () => {
    if (bar) out.write(CLEAR_LINE);
    bar = false;
  };
  return new Promise((resolve, reject) => {
    // EventSource sends no headers of its own: the token goes through its fetch
    const source = new EventSource(`${hub}/api/runs/${encodeURIComponent(runId)}/logs/stream?${options.params}`, {
      fetch: (input, init) => hubFetch(String(input), init as RequestInit),
    });
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => finish(() => reject(new WaitTimeout(runId, Math.round(options.timeoutMs! / 1000)))), options.timeoutMs);
    const finish = (then: () => void) => {
      clearTimeout(timer);
      source.close();
      if (bar) out.write('\n'); // the last state of a bar that never became a line stays
      bar = false;
      then();
    };
    source.addEventListener('log', (event) => {
      clearBar();
      options.print(fromWire(JSON.parse(event.data) as WireRecord));
    });
    source.addEventListener('progress', (event) => {
      if (!options.progress) return;
      const update = JSON.parse(event.data) as ProgressUpdate;
      // one terminal line: cut to its width so that `\r` comes back to its start; no escape or
      // control character of the update's own (anyone's text) reaches the terminal
      const width = Math.max(10, (out.columns || 120) - 1); // a terminal that says 0 columns has not said
      out.write(`${CLEAR_LINE}${terminalSafe(update.message, { colour: false }).replace(/\n/g, ' ').slice(0, width)}`);
      bar = true;
    });
    source.addEventListener('end', (event) => finish(() => resolve(parseRun(event.data))));
    source.addEventListener('error', (event) => {
      // the hub's own `event: error` (TOKEN_REVOKED, …) ends the stream for good: say why, do not reconnect into a 401
      const data = (event as MessageEvent).data as string | undefined;
      if (data !== undefined) finish(() => reject(new Error(`stream ended: ${lapseText(data)}`)));
    });
    source.onerror = (error) => {
      // EventSource reconnects by itself (with Last-Event-ID) unless the hub refused the stream
      if (source.readyState === EventSource.CLOSED) finish(() => reject(new Error(`stream closed: ${error.message ?? 'hub refused'}`)));
    };
  });
}

function parseRun(data: string): Run | undefined {
  try {
    return JSON.parse(data) as Run;
  } catch {
    return undefined;
  }
}
