/** `runlog runs`: the runs, newest first. */
import { terminalJson } from '../../core/terminal.js';
import { RUN_STATUSES, type Run, type RunStatus } from '../../store/store.js';
import { labels as parseLabels, pageLimit, UsageError } from '../args.js';
import { openReader } from '../open-reader.js';
import { displayWidth, humanDuration, table, terminalWidth } from '../table.js';

export async function runsCommand(flags: { status?: string; grep?: string; label: string[]; limit: string; json?: boolean; hub?: string; data: string; db?: string }): Promise<void> {
  // any case, as --level takes its names
  const status = flags.status?.toLowerCase();
  if (status !== undefined && !(RUN_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status: expected one of ${RUN_STATUSES.join(', ')}, got ${JSON.stringify(flags.status)}`);
  }
  const limit = pageLimit(flags.limit);
  const labels = parseLabels(flags.label);
  const { reader, close } = await openReader(flags);
  const runs = await reader.listRuns({ status: status as RunStatus | undefined, limit, ...(flags.grep ? { q: flags.grep } : {}), ...(Object.keys(labels).length > 0 ? { labels } : {}) });
  await close();
  if (flags.json) {
    process.stdout.write(`${terminalJson(runs)}\n`);
    return;
  }
  process.stdout.write(runsTable(runs));
}

/**
 * The runs as a table, made to fit a terminal: a long name or command, then an id longer than a
 * generated one (19), is cut with `…` (`--json` has them whole), and on a narrow one STARTED drops
 * its year and seconds.
 * Into a pipe, every row whole but the name or command, cut at 60 as always.
 */
export function runsTable(runs: readonly Run[], width = terminalWidth()): string {
  const fit = { width, shrink: [{ column: 6, min: 12, max: 60 }, { column: 0, min: 19 }] };
  const rows = (started: (run: Run) => string) =>
    runs.map((run) => [
      run.id,
      run.status,
      run.exit_code === null ? (run.signal ?? '-') : String(run.exit_code),
      run.duration_seconds === null ? '-' : humanDuration(run.duration_seconds),
      String(run.line_count),
      started(run),
      run.name ?? run.command ?? '',
    ]);
  const header = ['ID', 'STATUS', 'EXIT', 'DURATION', 'LINES', 'STARTED', 'NAME/COMMAND'];
  const whole = table(header, rows((run) => startedText(run.started_at)), fit);
  if (width === undefined || whole.split('\n').every((line) => displayWidth(line) <= width)) return whole;
  return table(header, rows((run) => startedText(run.started_at).slice(5, 16)), fit);
}

/**
 * A stored time as the table shows it, in UTC as `--since` reads a time without a zone and as
 * `--timestamps` prints them (so a STARTED copied into `--since` means the same instant):
 * `2026-12-03 19:29:53`.
 */
export function startedText(iso: string | null): string {
  return iso === null ? '-' : iso.slice(0, 19).replace('T', ' ');
}
