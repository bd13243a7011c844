/** `runlog runs`: the runs, newest first. */
import { terminalJson } from '../../core/terminal.js';
import { RUN_STATUSES, type Run, type RunStatus } from '../../store/store.js';
import { labels as parseLabels, pageLimit, UsageError } from '../args.js';
import { openReader } from '../open-reader.js';
import { table } from '../table.js';

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

function runsTable(runs: readonly Run[]): string {
  return table(
    ['ID', 'STATUS', 'EXIT', 'DURATION', 'LINES', 'STARTED', 'NAME/COMMAND'],
    runs.map((run) => [
      run.id,
      run.status,
      run.exit_code === null ? (run.signal ?? '-') : String(run.exit_code),
      run.duration_seconds === null ? '-' : `${run.duration_seconds.toFixed(1)}s`,
      String(run.line_count),
      run.started_at?.slice(0, 19).replace('T', ' ') ?? '-',
      (run.name ?? run.command ?? '').slice(0, 60),
    ]),
  );
}
