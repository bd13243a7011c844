/**
 * Following a worker's own lines live, for `runlog logs worker:<id> -f`: `GET /api/logs/stream`
 * has no backlog, so the stream is opened first and what it sends is held while the stored lines
 * are printed; then the held lines newer than those printed (by seq: the hub numbers a worker's
 * lines in the order it stores them) and every later one. When the stream comes back (the hub
 * restarted, a proxy cut it) it asks for the lines after the last one seen (Last-Event-ID: the
 * hub sends what was stored meanwhile first), so nothing written during the gap is lost. Runs
 * until interrupted, or rejects when the hub ends the stream for good (a refused or revoked token).
 */
import { EventSource } from 'eventsource';
import type { SystemLog } from '../store/store.js';
import { hubFetch } from '../sinks/hub-http.js';

export function followWorker(hub: string, workerId: string, printStored: () => Promise<number>, print: (line: SystemLog) => void): Promise<never> {
  return new Promise((_resolve, reject) => {
    let held: SystemLog[] | undefined = []; // undefined once the stored lines are printed
    let lastSeq = 0; // the last line seen, printed or passed over by the filters
    let stored: Promise<void> | undefined; // the stored lines being printed, from the first open on
    let connects = 0;
    const source = new EventSource(`${hub}/api/logs/stream?source_id=${encodeURIComponent(workerId)}`, {
      fetch: async (input, init) => {
        if (connects++ === 0) return hubFetch(String(input), init as RequestInit);
        // a reconnect: the lines after the last one seen, whether it came as an event (whose id the
        // EventSource keeps) or from the store (which it never saw); once the stored lines are
        // printed, if that was under way, so that where they end is known
        await stored?.catch(() => {});
        if (lastSeq === 0) return hubFetch(String(input), init as RequestInit);
        const headers = { ...(init?.headers as Record<string, string> | undefined), 'Last-Event-ID': String(lastSeq) };
        return hubFetch(String(input), { ...(init as RequestInit), headers });
      },
    });
    const show = (line: SystemLog) => {
      if (line.seq <= lastSeq) return;
      lastSeq = line.seq;
      print(line);
    };
    const fail = (error: unknown) => {
      source.close();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    source.addEventListener('log', (event) => {
      const line = JSON.parse(event.data) as SystemLog;
      if (held) held.push(line);
      else show(line);
    });
    source.addEventListener('error', (event) => {
      // the hub's own `event: error` (TOKEN_REVOKED, …) ends the stream for good
      const data = (event as MessageEvent).data as string | undefined;
      if (data !== undefined) fail(new Error(`stream ended: ${lapseText(data)}`));
    });
    source.addEventListener('open', () => {
      if (stored !== undefined) return; // a reconnect: the hub sends the lines after Last-Event-ID first
      stored = printStored().then((seq) => {
        lastSeq = seq;
        const waiting = held ?? [];
        held = undefined;
        waiting.forEach(show);
      });
      stored.catch(fail);
    });
    source.onerror = (error) => {
      // EventSource reconnects by itself unless the hub refused the stream
      if (source.readyState === EventSource.CLOSED) fail(new Error(`stream closed: ${error.message ?? 'hub refused'}`));
    };
  });
}

/** `{"error":"TOKEN_REVOKED","message":"token \"ci\" was revoked"}` → `token "ci" was revoked (TOKEN_REVOKED)` */
export function lapseText(data: string): string {
  try {
    const { error, message } = JSON.parse(data) as { error?: unknown; message?: unknown };
    if (typeof error === 'string' && typeof message === 'string') return `${message} (${error})`;
  } catch {
    // not JSON: said as it came
  }
  return data.slice(0, 500);
}
