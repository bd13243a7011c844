/** `runlog logs RUN`: a run's lines, with the meanings `kubectl logs` gives the flags (`worker:<id>`: worker-logs.ts). */
import { plain } from '../../core/format.js';
import { colourOnStdout, terminalJson, terminalSafe } from '../../core/terminal.js';
import { foldAscii } from '../../core/text.js';
import { LIMITS } from '../../core/limits.js';
import { LEVEL_RANK, microsToIso, toWire, type Level, type LogRecord } from '../../core/record.js';
import { followRun } from '../follow.js';
import { FINAL_STATUSES, type LogQuery } from '../../store/store.js';
import { id as checkId, level as parseLevelFlag, positiveInt, sinceMicros, UsageError } from '../args.js';
import type { RunReader } from '../hub-client.js';
import { openReader } from '../open-reader.js';
import { redactUrl } from '../../core/redact.js';

export interface LogsFlags {
  tail?: string;
  since?: string;
  until?: string;
  level?: string;
  grep?: string;
  timestamps?: boolean;
  json?: boolean;
  follow?: boolean;
  hub?: string;
  data: string;
  db?: string;
}

const PAGE = 5000;
const POLL_MS = 250;

export async function logsCommand(runId: string, flags: LogsFlags): Promise<void> {
  // no run takes `worker:` (isValidRunId): that prefix names a worker's own lines
  if (runId.startsWith('worker:')) return (await import('./worker-logs.js')).workerLogsCommand(runId.slice('worker:'.length), flags);
  // as cancel, rm and rerun say it, before asking anyone (the hub's 400 said only "id: must match …")
  checkId(runId, 'RUN');
  const filter: LogQuery = {
    since: flags.since === undefined ? undefined : sinceMicros(flags.since),
    until: untilMicros(flags),
    level: flags.level === undefined ? undefined : parseLevelFlag(flags.level),
    q: flags.grep,
  };
  const tail = flags.tail === undefined ? undefined : positiveInt(flags.tail, '--tail', 0);
  const { reader, hub, close } = await openReader(flags);
  const run = await reader.getRun(runId);
  if (!run) {
    await close();
    throw new Error(`run ${runId} not found${hub ? ` on ${redactUrl(hub)}` : ''}`);
  }
  const print = printer(flags);
  // the hub's `tail=N` counts every line, not the matching ones, and stops at 10,000 (a 400 past
  // it): with a filter, or a longer tail, the tail is picked by the query (as without -f), then
  // the stream goes on after the last line printed (`--tail 0`: no backlog, the hub's `tail=0` is right)
  const filtered = filter.since !== undefined || filter.until !== undefined || filter.level !== undefined || Boolean(filter.q);
  if (flags.follow && hub !== undefined && !(tail !== undefined && tail > 0 && (filtered || tail > LIMITS.tailLines))) {
    await close();
    await followOverSse(hub, runId, tail === undefined ? 'after=0' : `tail=${tail}`, filter, print, flags.json === true);
    return;
  }
  let last = await printExisting(reader, runId, tail, filter, print);
  if (flags.follow && hub !== undefined) {
    await close();
    // after the last matching line: the lines since, matching or not, come again and are filtered here
    await followOverSse(hub, runId, `after=${last}`, filter, print, flags.json === true);
    return;
  }
  if (flags.follow) {
    // no hub: poll the local store until the run ends
    for (;;) {
      const current = await reader.getRun(runId);
      const page = await reader.queryLogs(runId, { ...filter, after: last, limit: PAGE });
      for (const record of page.records) print(record);
      last = page.records.at(-1)?.seq ?? last;
      if (page.records.length < PAGE && current && FINAL_STATUSES.includes(current.status)) break;
      if (page.records.length < PAGE) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  await close();
}

/** Prints what is stored (all of it, or the tail) and returns the last seq printed. */
async function printExisting(reader: RunReader, runId: string, tail: number | undefined, filter: LogQuery, print: (r: LogRecord) => void): Promise<number> {
  if (tail !== undefined) {
    // the last N: pages backwards, printed forwards
    const pages: LogRecord[][] = [];
    let before: number | undefined;
    let wanted = tail;
    while (wanted > 0) {
      const page = await reader.queryLogs(runId, { ...filter, before, tail: Math.min(wanted, PAGE) });
      if (page.records.length === 0) break;
      pages.unshift(page.records);
      wanted -= page.records.length;
      before = page.records[0]?.seq;
      if (!page.truncated) break;
    }
    const records = pages.flat();
    records.forEach(print);
    return records.at(-1)?.seq ?? 0;
  }
  let after = 0;
  for (;;) {
    const page = await reader.queryLogs(runId, { ...filter, after, limit: PAGE });
    page.records.forEach(print);
    after = page.records.at(-1)?.seq ?? after;
    if (page.records.length < PAGE) return after;
  }
}

async function followOverSse(hub: string, runId: string, params: string, filter: LogQuery, print: (r: LogRecord) => void, json: boolean): Promise<void> {
  await followRun(hub, runId, {
    params,
    print: (record) => {
      if (matches(record, filter)) print(record);
    },
    // a bar drawn in place only for a person at a terminal, and not under a filter it would dodge
    progress: process.stdout.isTTY === true && !json && filter.level === undefined && filter.q === undefined,
  });
}

/** `--until`: refused with -f, whose new lines all come after any time given (it would print nothing new, and never end). */
export function untilMicros(flags: Pick<LogsFlags, 'until' | 'follow'>): number | undefined {
  if (flags.until === undefined) return undefined;
  if (flags.follow) throw new UsageError('--until cannot be used with -f: the lines -f waits for come after it');
  return sinceMicros(flags.until, '--until');
}

function matches(record: LogRecord, filter: LogQuery): boolean {
  return keeps(filter, record.timestamp, record.level, record.message);
}

/** Whether a line the hub sent live passes the flags' filter (the stored lines were filtered by the query). */
export function keeps(filter: Pick<LogQuery, 'since' | 'level' | 'q'>, timestamp: number, level: Level, message: string): boolean {
  if (filter.since !== undefined && timestamp < filter.since) return false;
  if (filter.level !== undefined && LEVEL_RANK[level] < LEVEL_RANK[filter.level]) return false;
  // as the hub's q: ASCII letters folded only (core/text.ts foldAscii)
  if (filter.q && !foldAscii(plain(message)).includes(foldAscii(filter.q))) return false;
  return true;
}

export function printer(flags: Pick<LogsFlags, 'json' | 'timestamps'>): (record: LogRecord) => void {
  return linePrinter(flags, toWire, (record) => microsToIso(record.timestamp));
}

/**
 * Prints a line as `--json` (`json`: its wire shape) or as its message, after its time with
 * `--timestamps`: colours for a terminal, and no other escape sequence (a stored line is anyone's
 * text); plain text for a pipe or a file. A run's lines and a worker's share it.
 */
export function linePrinter<T extends { message: string }>(
  flags: Pick<LogsFlags, 'json' | 'timestamps'>,
  json: (line: T) => unknown,
  time: (line: T) => string,
): (line: T) => void {
  const safe = { colour: colourOnStdout() };
  return (line) => {
    if (flags.json) {
      process.stdout.write(`${terminalJson(json(line))}\n`);
      return;
    }
    const text = terminalSafe(line.message, safe);
    process.stdout.write(flags.timestamps ? `${time(line)} ${text}\n` : `${text}\n`);
  };
}
