/**
 * `runlog logs worker:<id>`: a worker's own lines (stream `worker:<id>`), oldest first, with the
 * flags `runlog logs` takes for a run. They are read as the hub serves them (`GET /api/logs`, the
 * seeds' system_logs shape: newest first, paged by the `before` cursor) or from the store the same way,
 * so both print alike; -f goes on with `GET /api/logs/stream`, or polls the store.
 *
 * -f prints in seq order throughout, stored lines too: the live lines come, and a reconnect resumes,
 * by seq, and a worker's buffered lines (sent late, or by the seeds' function on PostgreSQL, where
 * seqs follow commit order) can carry older times than lines numbered before them; printed by time,
 * the order would change at the switch from stored to live lines.
 */
import { nowMicros } from '../../core/record.js';
import { parseIsoMicros } from '../../core/time.js';
import { systemLogFromRecord } from '../../store/rows.js';
import { MAX_PAGE, workerStream, type SystemLog, type SystemLogFilter } from '../../store/store.js';
import { level as parseLevelFlag, positiveInt, sinceMicros, workerId as workerIdArg } from '../args.js';
import type { RunReader } from '../hub-client.js';
import { openReader } from '../open-reader.js';
import { followWorker } from '../follow-worker.js';
import { keeps, linePrinter, untilMicros, type LogsFlags } from './logs.js';
import { redactUrl } from '../../core/redact.js';

const POLL_MS = 250;

export async function workerLogsCommand(workerId: string, flags: LogsFlags): Promise<void> {
  workerIdArg(workerId, 'worker:<id>');
  const filter: SystemLogFilter = {
    source_type: 'worker',
    source_id: workerId,
    since: flags.since === undefined ? undefined : sinceMicros(flags.since),
    until: untilMicros(flags),
    level: flags.level === undefined ? undefined : parseLevelFlag(flags.level),
    q: flags.grep,
  };
  const tail = flags.tail === undefined ? undefined : positiveInt(flags.tail, '--tail', 0);
  const { reader, hub, close } = await openReader(flags);
  try {
    const worker = await reader.getWorker(workerId, nowMicros());
    // a worker known only by its lines (no row in an adopted workers table on PostgreSQL, as the API reads it too)
    const known = worker ?? (await reader.querySystemLogs({ source_type: 'worker', source_id: workerId, limit: 1 })).length > 0;
    if (!known) throw new Error(`worker ${workerId} not found${hub ? ` on ${redactUrl(hub)}` : ''}`);
    const lastSeq = worker?.last_seq ?? 0;
    const print = linePrinter<SystemLog>(flags, (line) => line, (line) => line.timestamp);
    if (flags.follow && hub !== undefined) {
      // subscribed before the read: a line stored meanwhile comes live, and is not printed twice;
      // the worker's last seq (read before subscribing) is where a reconnect resumes when no line matched
      await followWorker(hub, workerId, async () => Math.max(printed(bySeq(await readOldestFirst(reader, filter, tail)), print), lastSeq), (line) => {
        if (keeps(filter, parseIsoMicros(line.timestamp) ?? 0, line.level, line.message)) print(line);
      });
      return;
    }
    const stored = await readOldestFirst(reader, filter, tail);
    const lines = flags.follow ? bySeq(stored) : stored;
    let after = Math.max(printed(lines, print), lastSeq);
    // no hub: poll the store (worker lines never end: until interrupted)
    while (flags.follow) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const page = await reader.queryLogs(workerStream(workerId), { after, limit: MAX_PAGE, since: filter.since, level: filter.level, q: filter.q });
      for (const record of page.records) print(systemLogFromRecord(record));
      after = page.records.at(-1)?.seq ?? after;
    }
  } finally {
    await close();
  }
}

/** The lines (with --tail, the last N by time) in the order the hub numbered them, as -f's live ones come. */
function bySeq(lines: SystemLog[]): SystemLog[] {
  return lines.sort((a, b) => a.seq - b.seq);
}

/** Prints the lines and returns the highest seq among them (0: none). */
function printed(lines: readonly SystemLog[], print: (line: SystemLog) => void): number {
  lines.forEach(print);
  return lines.reduce((max, line) => Math.max(max, line.seq), 0);
}

/** Every matching line (or the last `tail`), oldest first: pages back in time after the oldest line seen (`before`). */
export async function readOldestFirst(reader: RunReader, filter: SystemLogFilter, tail: number | undefined): Promise<SystemLog[]> {
  const found: SystemLog[] = []; // newest first
  for (;;) {
    const limit = Math.min(MAX_PAGE, tail === undefined ? MAX_PAGE : tail - found.length);
    if (limit <= 0) break;
    const oldest = found.at(-1);
    const page = await reader.querySystemLogs({ ...filter, limit, before: oldest && { source_id: oldest.source_id, seq: oldest.seq } });
    found.push(...page);
    if (page.length < limit) break;
  }
  return found.reverse();
}
