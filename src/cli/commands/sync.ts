/** `runlog sync`: deliver what runners on this data directory left undelivered (see sinks/hub-replay.ts). */
import { terminalJson } from '../../core/terminal.js';
import { resolve } from 'node:path';
import { replayWals } from '../../sinks/hub-replay.js';
import { durationMs } from '../args.js';
import { checkHubUrl } from '../hub-client.js';

export interface SyncFlags {
  hub?: string;
  data: string;
  timeout: string;
  quiet?: boolean;
  json?: boolean;
}

export async function syncCommand(flags: SyncFlags): Promise<void> {
  const say = (message: string) => {
    if (!flags.quiet && !flags.json) process.stdout.write(`${message}\n`);
  };
  // none (RUNLOG_HUB=none exported for the local store): each run's own hub, as with no --hub
  const hub = flags.hub === undefined || flags.hub === '' || flags.hub === 'none' ? undefined : flags.hub;
  // a typo was taken as a hub that does not answer ("Invalid URL"), exit 1, the runs left waiting
  if (hub !== undefined) checkHubUrl(hub);
  const runs = await replayWals({
    dataDir: resolve(flags.data),
    hub,
    timeoutMs: durationMs(flags.timeout, '--timeout'),
    log: say,
  });
  const sent = runs.filter((run) => run.outcome !== 'waiting');
  const lines = runs.reduce((sum, run) => sum + run.lines, 0);
  const already = runs.reduce((sum, run) => sum + (run.already ?? 0), 0);
  const waiting = runs.filter((run) => run.outcome === 'waiting');
  // the URL answered 404 (notTheHub): "unreachable" would send the user to look for a hub that is down
  const why = waiting.some((run) => run.note?.includes('answered 404')) ? 'its URL answered 404: see above' : 'hub unreachable';
  if (flags.json) process.stdout.write(`${terminalJson({ runs, sent_runs: sent.length, sent_lines: lines, already_lines: already, waiting: waiting.length })}\n`);
  else if (runs.length === 0) say('nothing to send');
  else say(`sent ${sent.length} runs, ${lines} lines${already > 0 ? ` (and ${already} the hub had already)` : ''}${waiting.length > 0 ? `; ${waiting.length} runs still wait (${why})` : ''}`);
  process.exit(waiting.length > 0 ? 1 : 0);
}
