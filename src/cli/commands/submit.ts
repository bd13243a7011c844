/**
 * `runlog submit -- CMD`: queue a run for a worker. With --wait, its lines as they come (followed
 * over SSE like `logs -f`, a progress bar in place on a terminal), then the outcome; with --json,
 * only the FunctionResponse at the end.
 */
import { shellJoin } from '../../core/text.js';
import { checkCommandSize, checkName, id as checkId, labels as parseLabels, positiveInt, UsageError } from '../args.js';
import { followRun, WaitTimeout } from '../follow.js';
import { findHub } from '../hub-client.js';
import { printer } from './logs.js';
import type { FunctionResponse } from '../../server/routes/tasks.js';
import { terminalJson, terminalSafe } from '../../core/terminal.js';
import { hubError, hubFetch, jsonOf } from '../../sinks/hub-http.js';

export interface SubmitFlags {
  setup: string[];
  id?: string;
  name?: string;
  label: string[];
  env: string[];
  cwd?: string;
  wait?: string | boolean;
  json?: boolean;
  hub?: string;
}

const DEFAULT_WAIT_S = 3600;

export async function submitCommand(command: string[], flags: SubmitFlags): Promise<void> {
  const hub = await findHub(flags.hub, true);
  if (hub === undefined) throw new UsageError('submit needs a hub (--hub URL or RUNLOG_HUB): workers claim tasks from it');
  const env = parseLabels(flags.env, '--env');
  checkName(flags.name);
  checkCommandSize(shellJoin(command));
  const body = {
    id: flags.id === undefined ? undefined : checkId(flags.id, '--id'),
    name: flags.name,
    labels: parseLabels(flags.label),
    command,
    setup: flags.setup,
    env,
    cwd: flags.cwd,
  };
  if (flags.wait !== undefined && flags.wait !== false) waitSeconds(flags.wait);
  const created = await createTask(hub, body);
  if (flags.wait === undefined || flags.wait === false) {
    process.stdout.write(flags.json ? `${terminalJson(created)}\n` : `${created.id}\n`);
    return;
  }
  await waitAndReport(hub, created.id, flags.wait, flags.json);
}

/**
 * Waits for the run's end (`wait`: true or seconds): without --json, prints its lines as they
 * come, then the outcome; with --json, the FunctionResponse. Exits with its outcome.
 */
const MAX_WAIT_S = Math.floor((2 ** 31 - 1) / 1000);

/** --wait's seconds, checked before anything is queued. */
export function waitSeconds(wait: string | true): number {
  // at least 1: `--wait 0` queued the task and gave up on it at once (exit 2, the task left queued)
  const waitS = wait === true ? DEFAULT_WAIT_S : positiveInt(wait, '--wait', 1);
  // a timer holds at most 2^31 − 1 ms (~24.8 days): past it Node fires at once
  if (waitS > MAX_WAIT_S) throw new UsageError(`--wait: at most ${MAX_WAIT_S} seconds (24 days), got ${wait}`);
  return waitS;
}

export async function waitAndReport(hub: string, id: string, wait: string | true, json: boolean | undefined): Promise<never> {
  const waitS = waitSeconds(wait);
  const started = Date.now();
  // Ctrl-C stops the waiting, not the run: say so, and how to end it, as a --wait that ran out does
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}runlog: stopped waiting (${signal}); run ${id} goes on (\`runlog cancel ${id}\` ends it)\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  let response: FunctionResponse;
  try {
    if (!json) {
      // the lines as they come; the response below is then only the outcome
      await followRun(hub, id, { params: 'after=0', print: printer({}), progress: process.stdout.isTTY === true, timeoutMs: waitS * 1000 });
    }
    const left = Math.max(0, waitS - Math.floor((Date.now() - started) / 1000));
    response = await waitForResponse(hub, id, json ? waitS : Math.max(1, left));
  } catch (error) {
    // not ended in time: say what it is now (it said "still running" of a run no worker had claimed)
    if (error instanceof WaitTimeout) throw new Error(`${error.message}: it is ${await statusOf(hub, id)} and stays so (\`runlog cancel ${id}\` ends it)`);
    // the run is queued all the same: say which, and why it could not be watched
    const message = error instanceof Error ? error.message : String(error);
    const scope = /\b403\b|read scope/.test(message) ? ' (watching a run needs a token with the read scope)' : '';
    throw new Error(`run ${id} is queued, but waiting for it failed: ${message}${scope}`);
  }
  if (json) process.stdout.write(`${terminalJson(response)}\n`);
  else if (response.success) process.stderr.write(`runlog: run ${response.run_id} completed in ${(response.duration_seconds ?? 0).toFixed(1)}s\n`);
  else {
    // the run's error_message is stored text: no escape sequence reaches the terminal
    const error = terminalSafe(response.error ?? 'no error message', { colour: false });
    // a cancelled run's error is "cancelled by <who>" (the response has no status)
    const how = (response.error ?? '').startsWith('cancelled by ') ? 'cancelled' : 'failed';
    process.stderr.write(`runlog: run ${response.run_id} ${how}${response.exit_code !== null ? ` (exit ${response.exit_code})` : ''}: ${error}\n`);
  }
  process.exit(response.success ? 0 : response.exit_code !== null && response.exit_code > 0 ? response.exit_code : 1);
}

/** Long-polls the hub (a request per minute at most) until the run ends or `waitS` is over. */
async function waitForResponse(hub: string, id: string, waitS: number): Promise<FunctionResponse> {
  const deadline = Date.now() + waitS * 1000;
  for (;;) {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const response = await hubFetch(`${hub}/api/runs/${encodeURIComponent(id)}/response?wait=${Math.min(60, left)}`);
    if (response.status !== 200 && response.status !== 202) throw new Error(await hubError(response));
    const body = (await response.json()) as FunctionResponse & { status?: string };
    if (response.status === 200) return body;
    if (left === 0) throw new WaitTimeout(id, waitS);
  }
}

/** The run's status now, as a word for a message (`queued`, `running`), or `still not ended` when the hub does not say. */
async function statusOf(hub: string, id: string): Promise<string> {
  try {
    const response = await hubFetch(`${hub}/api/runs/${encodeURIComponent(id)}`);
    const run = (await response.json()) as { status?: unknown };
    if (response.ok && typeof run.status === 'string') return run.status;
  } catch {
    // the hub went away meanwhile
  }
  return 'not ended';
}

/**
 * The flag each field of a task comes from: a refusal the client did not check first (an env
 * variable's name, a setup step's size) names the flag, as the checks above do, then the field.
 */
const FLAG_OF_FIELD: readonly [RegExp, string][] = [
  [/^env\b/, '--env'],
  [/^setup\b/, '--setup'],
  [/^cwd$/, '--cwd'],
  [/^name$/, '--name'],
  [/^labels\b/, '--label'],
];

async function createTask(hub: string, body: { id?: string }): Promise<{ id: string }> {
  const response = await hubFetch(`${hub}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.ok) return (await response.json()) as { id: string };
  const text = await response.text().catch(() => '');
  const message = await hubError({ status: response.status, ok: false, text });
  // 409: the id is taken, said as `runlog run` says it
  if (response.status === 409 && body.id !== undefined) throw new UsageError(`--id: ${message}`);
  const field = jsonOf<{ field?: string }>(text)?.field;
  const flag = response.status === 400 && field !== undefined ? FLAG_OF_FIELD.find(([pattern]) => pattern.test(field))?.[1] : undefined;
  if (flag !== undefined) throw new UsageError(`${flag}: ${message.startsWith(field!) ? message : `${field}: ${message}`}`);
  throw new Error(message);
}
