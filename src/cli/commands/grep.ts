/** `runlog grep TEXT`: lines of every run and every worker that contain TEXT, newest first. */
import { colourOnStdout, terminalJson, terminalSafe } from '../../core/terminal.js';
import { microsToIso } from '../../core/record.js';
import { searchMatch } from '../../store/rows.js';
import type { LineSearch } from '../../store/store.js';
import { labels as parseLabels, level as parseLevel, pageLimit, sinceMicros, UsageError } from '../args.js';
import { openReader } from '../open-reader.js';

export interface GrepFlags {
  since?: string;
  until?: string;
  label: string[];
  level?: string;
  limit: string;
  json?: boolean;
  hub?: string;
  data: string;
  /** a PostgreSQL URL or a SQLite file, searched directly without a hub (`--db`, RUNLOG_DB) */
  db?: string;
}

export async function grepCommand(text: string, flags: GrepFlags): Promise<void> {
  const labels = parseLabels(flags.label);
  const filter: LineSearch = {
    q: text,
    ...(flags.since === undefined ? {} : { since: sinceMicros(flags.since) }),
    ...(flags.until === undefined ? {} : { until: sinceMicros(flags.until, '--until') }),
    ...(flags.level === undefined ? {} : { level: parseLevel(flags.level) }),
    ...(Object.keys(labels).length === 0 ? {} : { labels }),
    limit: pageLimit(flags.limit),
  };
  // swapped bounds (`--since 1m --until 1h`, both "ago") match nothing: said, not "no match", exit 1
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    throw new UsageError(`--since ${flags.since} is after --until ${flags.until}: nothing could match`);
  }
  const { reader, close } = await openReader(flags);
  try {
    const page = await reader.searchLines(filter);
    // colours on a terminal and no other escape sequence (a stored line is anyone's text); none into a pipe
    const safe = { colour: colourOnStdout() };
    for (const record of page.records) {
      if (flags.json) {
        process.stdout.write(`${terminalJson(searchMatch(record))}\n`);
      } else {
        // where (run:seq, as grep prints file:line), when, then the line
        const message = terminalSafe(record.message, safe);
        process.stdout.write(`${record.stream}:${record.seq}: ${microsToIso(record.timestamp)} ${message}\n`);
      }
    }
    if (page.truncated && !flags.json) process.stderr.write(`runlog grep: more lines match; showing the newest ${page.records.length} (--limit)\n`);
    if (page.records.length === 0) process.exitCode = 1; // as grep: nothing found is status 1
  } finally {
    await close();
  }
}
