/** `runlog run [flags] -- CMD`: run a command and capture it (see README, "runlog run"). */
import { terminalJson } from '../../core/terminal.js';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { databaseFile } from '../../core/config.js';
import { Runner, stdoutLineOpen, type RunOutcome } from '../../agent/runner.js';
import { shellJoin } from '../../core/text.js';
import { walDir } from '../../pipeline/spool/wal.js';
import { newRunId } from '../../server/routes/runs.js';
import { HubShipper } from '../../sinks/hub.js';
import { StoreSink } from '../../sinks/store.js';
import type { RunSink } from '../../sinks/sink.js';
import type { SqliteStore } from '../../store/sqlite/store.js';
import { checkCommandSize, checkName, checkNamedDataDir, checkWritableDir, checkRunId, durationMs, leaseSeconds as leaseFlag, id as checkId, labels as parseLabels, positiveInt, UsageError } from '../args.js';
import { deliverLeftoversInBackground } from '../background-sync.js';
import { findHub, HubReader } from '../hub-client.js';
import { hubError, hubRequest, hubStateReporter, notTheHub, type HubAnswer } from '../../sinks/hub-http.js';
import { keepHeapSmall } from '../lean-heap.js';
import { isGlob } from '../../sources/file/glob.js';
import { safeStat } from '../../sources/file/siblings.js';
import { redactUrl } from '../../core/redact.js';

export interface RunFlags {
  hub?: string;
  data: string;
  setup: string[];
  id?: string;
  name?: string;
  task?: string;
  label: string[];
  cwd?: string;
  logDir?: string;
  quiet?: boolean;
  json?: boolean;
  maxLineBytes: string;
  flushTimeout: string;
  follow: string[];
  lease: string;
}

export async function runCommand(command: string[], flags: RunFlags): Promise<void> {
  // with the WAL off (benchmarks) every unsent line waits in memory: a small heap would only thrash
  if (process.env.RUNLOG_WAL !== 'off') keepHeapSmall();
  keepRunningWhenReaderGoes();
  const dataDir = resolve(flags.data);
  const runId = flags.id === undefined ? newRunId() : checkRunId(flags.id);
  const taskId = flags.task === undefined ? undefined : checkId(flags.task, '--task');
  const labels = parseLabels(flags.label);
  // the hub's limits, checked before anything runs (a refused create would leave the run local)
  checkName(flags.name);
  checkCommandSize(shellJoin(command));
  const maxLineBytes = positiveInt(flags.maxLineBytes, '--max-line-bytes');
  const flushTimeoutMs = durationMs(flags.flushTimeout, '--flush-timeout');
  const leaseSeconds = leaseFlag(flags.lease);
  checkCwd(flags.cwd);
  checkFollow(flags.follow, flags.cwd);
  const logDir = flags.logDir === undefined ? join(dataDir, 'logs') : resolve(flags.logDir);
  // a directory named by the user is refused before anything runs; the default ./.runlog in a
  // working directory runlog cannot write in (a read-only container) is not: the lines still go
  // to the hub, and the WAL and log file say their trouble as warnings
  const dataNamed = checkNamedDataDir(flags.data);
  if (flags.logDir !== undefined) checkWritableDir(logDir, '--log-dir');
  else if (dataNamed) checkWritableDir(logDir, '--data');
  const hub = await findHub(flags.hub, false);
  const warn = (message: string) => process.stderr.write(`runlog: ${message}\n`);

  let localStore: SqliteStore | undefined;
  // loaded only when needed: a runner that ships to a hub keeps the native SQLite library out of its memory
  const openLocal = async () => (localStore ??= new (await import('../../store/sqlite/store.js')).SqliteStore(databaseFile(dataDir)));
  if (flags.id !== undefined) {
    // a second run under an id would mix two runs' lines: refuse before anything runs
    const existing = hub !== undefined ? await new HubReader(hub).getRun(runId).catch(() => undefined) : await (await openLocal()).getRun(runId);
    if (existing) throw new UsageError(`--id: run ${runId} already exists (${existing.status}); choose another id`);
  }
  let shipper: HubShipper | undefined;
  /** `runlog cancel` (or the UI) stopped the command: runlog exits 143 whatever the command did on its SIGTERM */
  let cancelledOnHub = false;
  /** the hub's URL answered 404 to the run's create: not a hub that is down (hub-http.ts notTheHub) */
  let answered404 = false;
  let sink: RunSink;
  const writerKey = randomBytes(16).toString('base64url');
  if (hub !== undefined && flags.id !== undefined) {
    // the run is ours before the command starts: of two `run --id X` at once, one runs, the other stops here
    await createOnHub(hub, writerKey, { id: runId, name: flags.name ?? null, command: shellJoin(command), task_id: taskId ?? null, labels });
  }
  // what earlier runners on this data directory left undelivered (killed, hub away) goes now
  deliverLeftoversInBackground(dataDir);
  if (hub !== undefined) {
    const reportHubState = hubStateReporter(hub, 'lines wait in the write-ahead log', warn);
    shipper = new HubShipper({
      hub,
      // RUNLOG_WAL=off: lines wait in memory only (for benchmarks: the cost of durability)
      walDir: process.env.RUNLOG_WAL === 'off' ? undefined : walDir(dataDir),
      writerKey,
      ownerKind: 'run',
      finishTimeoutMs: flushTimeoutMs,
      leaseSeconds,
      onHubState: (reachable, reason, status) => {
        answered404 = !reachable && status === 404;
        reportHubState(reachable, reason, status);
      },
      onCancel: (by) => {
        cancelledOnHub = true;
        warn(`run ${runId} cancelled by ${by}: stopping the command`);
        runner.cancel('SIGTERM', by);
      },
      onRefused: (message) =>
        warn(`the hub refused run ${runId}: ${message}. Not sending it again; the command runs on and its lines go to the local store ${databaseFile(dataDir)}`),
      onTrouble: (message) => runner.trouble('wal', message),
    });
    sink = shipper;
  } else {
    sink = new StoreSink(await openLocal(), warn);
  }

  const runner: Runner = new Runner({
    id: runId,
    command,
    setup: flags.setup,
    name: flags.name,
    taskId,
    labels,
    cwd: flags.cwd,
    logDir,
    echo: !flags.quiet,
    maxLineBytes,
    sink,
    warn,
    follow: flags.follow,
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // the command has ended and runlog waits (--flush-timeout) for a hub that does not answer:
      // Ctrl-C stops the wait, as a worker's second signal does; the run keeps its real end, and
      // what the hub lacks waits in the WAL for `runlog sync`
      if (runner.ended) shipper?.giveUpAfter(0);
      else runner.cancel(signal);
    });
  }

  const outcome = await runner.run();
  let where = hub ?? databaseFile(dataDir);
  if (shipper && !outcome.stored) {
    const lost = shipper.countUnsentVolatile();
    if (lost > 0) warn(`${lost} lines could be kept neither on disk nor by the hub (disk full)`);
    if (shipper.refusedCreate !== undefined || shipper.neverAcknowledged) {
      // the hub never had any of the run: the whole run goes to the local store; a run the hub
      // refused stays there, one it never answered also waits in the WAL for `runlog sync`
      let count = 0;
      let lost = 0;
      try {
        const local = new StoreSink(await openLocal(), warn);
        local.start({ id: runId, name: flags.name ?? null, command: shellJoin(command), log_path: outcome.log_path, task_id: taskId ?? null, labels, started_at: outcome.started_at });
        for (const page of shipper.unsent()) {
          await local.append(page);
          count += page.length;
        }
        await local.finish({ status: outcome.status, exit_code: outcome.exit_code, signal: outcome.signal, error_message: outcome.error_message, completed_at: outcome.completed_at });
        lost = local.lost;
      } catch (error) {
        // a full disk: the WAL still holds what it could take, for `runlog sync`
        warn(`cannot open the local store ${databaseFile(dataDir)}: ${(error as Error).message}`);
        lost = count = -1;
      }
      where = databaseFile(dataDir);
      if (lost !== 0) warn(`the local store could not keep the run${shipper.walFile ? `; what the WAL took waits in ${shipper.walFile} for \`runlog sync\`` : ''}`);
      else if (shipper.refusedCreate !== undefined) {
        shipper.discardWal();
        warn(`run ${runId}: ${count} lines kept in the local store ${where}`);
      } else if (answered404) {
        warn(`${notTheHub(hub ?? '')}: ${count} lines kept in the local store ${where}; \`runlog sync --hub <the hub's URL>\` sends them`);
      } else warn(`hub ${redactUrl(hub)} did not come back: ${count} lines kept in the local store ${where}; \`runlog sync\` sends them to the hub once it answers`);
    } else {
      // part of the run is on the hub: the rest waits in the WAL, never split into the local store
      where = `${redactUrl(hub)} (the rest waits in ${shipper.walFile ?? 'the WAL'})`;
      warn(`hub ${redactUrl(hub)} did not take the end of run ${runId}: what it lacks waits in ${shipper.walFile}; \`runlog sync\` (or the next runlog run) delivers it`);
    }
  }
  shipper?.close();
  await localStore?.close().catch(() => {});
  // a command that never started printed nothing: say why here too (--quiet or not), as a shell would
  if (outcome.exit_status === 127 && outcome.error_message?.startsWith('could not start')) {
    process.stderr.write(`runlog: ${command[0]}: ${outcome.error_message}\n`);
  }
  if (flags.json) process.stdout.write(`${stdoutLineOpen() ? '\n' : ''}${terminalJson(summary(outcome, where))}\n`);
  // a command that catches the cancel's SIGTERM and exits 0 (or needs the SIGKILL) was still
  // cancelled: `runlog run -- job && deploy` must not deploy
  process.exit(cancelledOnHub && outcome.status === 'cancelled' ? 143 : outcome.exit_status);
}

/** Creates the run on the hub with our writer key; a 409 (someone else's run) stops the command from starting. A hub away: the shipper creates it later. */
async function createOnHub(hub: string, writerKey: string, body: Record<string, unknown>): Promise<void> {
  let response: HubAnswer;
  try {
    response = await hubRequest('POST', `${hub}/api/runs`, { headers: { 'x-runlog-writer': writerKey }, body: JSON.stringify(body), timeoutMs: 10_000 });
  } catch {
    return;
  }
  if (response.status === 409) throw new UsageError(`--id: ${await hubError(response)}`);
  if (response.status === 401 || response.status === 403) throw new UsageError(await hubError(response));
}

function summary(outcome: RunOutcome, where: string) {
  return {
    id: outcome.id,
    status: outcome.status,
    exit_code: outcome.exit_code,
    signal: outcome.signal,
    duration_seconds: outcome.duration_seconds,
    error_message: outcome.error_message,
    log_path: outcome.log_path,
    line_count: outcome.line_count,
    stored_in: where,
  };
}

/**
 * A --cwd that is no directory is a bad flag value: exit 2 naming the flag, before a run exists
 * (it made a failed run, exit 127, saying "working directory … does not exist" as a worker does).
 */
function checkCwd(cwd: string | undefined): void {
  if (cwd === undefined) return;
  const stat = safeStat(cwd);
  if (stat === undefined) throw new UsageError(`--cwd ${cwd}: no such directory`);
  if (!stat.isDirectory()) throw new UsageError(`--cwd ${cwd}: not a directory`);
}

/** `--follow` names files the command writes here (as the runner resolves them, against --cwd): a
 * directory, a pipe or an ssh:// URL would never be read, silently, so they are refused before anything runs. */
function checkFollow(follow: readonly string[], cwd: string | undefined): void {
  for (const target of follow) {
    if (target.startsWith('ssh://')) {
      throw new UsageError(`--follow ${target}: runlog run follows the files the command writes here; for a file on another machine, \`runlog follow ${target} --run <id>\``);
    }
    const path = resolve(cwd ?? '.', target);
    const stats = isGlob(path) ? undefined : safeStat(path);
    if (stats?.isDirectory()) throw new UsageError(`--follow ${target}: a directory; follow its files with a glob, quoted: '${join(path, '*.log')}'`);
    if (stats !== undefined && !stats.isFile()) throw new UsageError(`--follow ${target}: not a regular file (a pipe, a device): it is read by offset`);
  }
}

/**
 * A reader of our output that goes away (`runlog run -- train.py | head`) must not end the runner,
 * as it ends `runlog logs | head` (main.ts): the command would die with it (its watchdog) and the
 * run be left `running` until its lease ran out, exit 0. The command goes on, captured whole and
 * shipped; only showing it stops (the runner's echo skips a destroyed stream).
 */
function keepRunningWhenReaderGoes(): void {
  process.stdout.removeAllListeners('error');
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
}
