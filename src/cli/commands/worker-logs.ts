/**
 * `runlog logs worker:<id>`: a worker's own lines (stream `worker:<id>`), oldest first, with the
 * flags `runlog logs` takes for a run. They are read as the hub serves them (`GET /api/logs`, the
 * seeds' system_logs shape: newest first, by time, no seq cursor) or from the store the same way,
 * so both print alike; -f goes on with `GET /api/logs/stream`, or polls the store.
 */
import { LEVEL_RANK, nowMicros } from '../../core/record.js';
import { terminalSafe } from '../../core/terminal.js';
import { plain } from '../../core/format.js';
import { parseIsoMicros } from '../../core/time.js';
import { systemLogFromRecord } from '../../store/rows.js';
import { MAX_PAGE, workerStream, type SystemLog, type SystemLogFilter } from '../../store/store.js';
import { id as idArg, level as parseLevelFlag, positiveInt, sinceMicros } from '../args.js';
import type { RunReader } from '../hub-client.js';
import { openReader } from '../open-reader.js';
import { followWorker } from '../follow-worker.js';
import type { LogsFlags } from './logs.js';

const POLL_MS = 250;

export async function workerLogsCommand(workerId: string, flags: LogsFlags): Promise<void> {
  idArg(workerId, 'worker:<id>');
  const filter: SystemLogFilter = {
    source_type: 'worker',
    source_id: workerId,
    since: flags.since === undefined ? undefined : sinceMicros(flags.since),
    level: flags.level === undefined ? undefined : parseLevelFlag(flags.level),
    q: flags.grep,
  };
  const tail = flags.tail === undefined ? undefined : positiveInt(flags.tail, '--tail', 0);
  const { reader, hub, close } = await openReader(flags);
  try {
    const worker = await reader.getWorker(workerId, nowMicros());
    if (!worker) throw new Error(`worker ${workerId} not found${hub ? ` on ${hub}` : ''}`);
    const print = printer(flags);
    if (flags.follow && hub !== undefined) {
      // subscribed before the read: a line stored meanwhile comes live, and is not printed twice
      await followWorker(hub, workerId, async () => printed(await readOldestFirst(reader, filter, tail), print), (line) => {
        if (matches(line, filter)) print(line);
      });
      return;
    }
    const lines = await readOldestFirst(reader, filter, tail);
    let after = Math.max(printed(lines, print), worker.last_seq);
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

/** Prints the lines and returns the highest seq among them (0: none). */
function printed(lines: readonly SystemLog[], print: (line: SystemLog) => void): number {
  lines.forEach(print);
  return lines.reduce((max, line) => Math.max(max, line.seq), 0);
}

/**
 * Every matching line (or the last `tail`), oldest first. Pages go back in time with `until` set
 * to the oldest time seen; `until` is inclusive, so the lines at that very time come again and
 * are skipped by seq, and the page asks for that many more.
 */
export async function readOldestFirst(reader: RunReader, filter: SystemLogFilter, tail: number | undefined): Promise<SystemLog[]> {
  const found: SystemLog[] = []; // newest first
  let until: number | undefined;
  let atEdge = new Set<number>(); // seqs of the lines already found at time `until`
  for (;;) {
    const wanted = tail === undefined ? MAX_PAGE : tail - found.length;
    if (wanted <= 0) break;
    const limit = Math.min(MAX_PAGE, wanted + atEdge.size);
    const page = await reader.querySystemLogs({ ...filter, until, limit });
    const fresh = page.filter((line) => !atEdge.has(line.seq)).slice(0, wanted);
    found.push(...fresh);
    if (fresh.length === 0 || page.length < limit) break;
    const oldest = parseIsoMicros(page.at(-1)!.timestamp) ?? 0;
    if (oldest !== until) atEdge = new Set();
    until = oldest;
    for (const line of page) if (parseIsoMicros(line.timestamp) === oldest) atEdge.add(line.seq);
  }
  return found.reverse();
}

function matches(line: SystemLog, filter: SystemLogFilter): boolean {
  if (filter.since !== undefined && (parseIsoMicros(line.timestamp) ?? 0) < filter.since) return false;
  if (filter.level !== undefined && LEVEL_RANK[line.level] < LEVEL_RANK[filter.level]) return false;
  if (filter.q && !plain(line.message).toLowerCase().includes(filter.q.toLowerCase())) return false;
  return true;
}

function printer(flags: Pick<LogsFlags, 'json' | 'timestamps'>): (line: SystemLog) => void {
  // as for a run's lines: colours for a terminal and no other escape sequence (anyone's text)
  const safe = { colour: process.stdout.isTTY === true };
  return (line) => {
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const text = terminalSafe(line.message, safe);
    process.stdout.write(flags.timestamps ? `${line.timestamp} ${text}\n` : `${text}\n`);
  };
}
