/**
 * The `runlog` command. Each subcommand's code is loaded only when it runs, so `runlog run` does
 * not pay for the hub's server code. Every flag has an environment twin (shown in --help):
 * RUNLOG_ and the flag's name in capitals (`--log-dir` → RUNLOG_LOG_DIR); the seeds'
 * HEARTBEAT_INTERVAL and LOG_BUFFER_SIZE are honoured by `runlog worker` too.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS } from '../core/config.js';

/** the package's own version: package.json two folders up, from src/cli and from dist/cli alike */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('runlog')
  .description('Capture, keep, search and watch live every line your jobs print.')
  .version(version, '-v, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride() // usage errors exit 2, like runlog's own checks (inherited by the subcommands)
  .enablePositionalOptions();

const SWITCH_ON = ['1', 'true', 'yes'];
const SWITCH_OFF = ['', '0', 'false', 'no'];
/**
 * switches whose environment twin holds something else (`RUNLOG_JSON=maybe`) → the variable; by
 * option, not name: `run --follow <path>` has no twin, though logs' `-f, --follow` has RUNLOG_FOLLOW
 */
const badSwitches = new Map<Option, string>();
/** the command that runs, for naming an environment twin in its errors */
let running: Command | undefined;

/** An option with its environment twin, RUNLOG_<NAME>. */
function flag(flags: string, description: string, defaultValue?: string | boolean): Option {
  const long = /--([a-z-]+)/.exec(flags)?.[1] ?? '';
  const env = `RUNLOG_${long.replace(/-/g, '_').toUpperCase()}`;
  if (!/[<[]/.test(flags)) {
    // a switch: its twin turns it on with 1, true or yes, and 0 or false leave it off; anything
    // else is refused when a command with the switch runs (preAction), not taken as off
    const value = (process.env[env] ?? '').toLowerCase();
    const on = SWITCH_ON.includes(value);
    const option = new Option(flags, `${description} (env: ${env}=1)`).default(on || undefined);
    if (!on && !SWITCH_OFF.includes(value)) badSwitches.set(option, env);
    return option;
  }
  const option = new Option(flags, description).env(env);
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** A repeatable option; its environment twin holds the values separated by newlines. */
function repeatable(flags: string, description: string): Option {
  return flag(flags, `${description} (repeatable)`).argParser(collect).default([]);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split('\n').filter(Boolean)];
}

/** A repeatable path with no environment twin: an empty one (`--follow "$LOG"`, LOG unset) is a mistake, not nothing. */
function collectPath(value: string, previous: string[]): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('an empty path');
  return [...previous, value];
}

const data = (what = 'SQLite store, logs, spool') => flag('--data <dir>', `data directory (${what})`, DEFAULTS.data);
const hub = () => flag('--hub <url>', `hub URL (default ${DEFAULTS.hub} when it answers; "none": the local store)`);
/** for commands that only talk to a hub (there is no local store to fall back to) */
const hubOnly = () => flag('--hub <url>', `hub URL (default ${DEFAULTS.hub})`);
const json = () => flag('--json', 'JSON output');
const db = () => flag('--db <url>', 'the store: postgres://user@host/db (PostgreSQL), or a SQLite file (default: <data>/runlog.db)');
// the token: prefer RUNLOG_TOKEN_FILE or RUNLOG_TOKEN to --token, which other users can see in `ps`
const token = () => flag('--token <token>', 'token for the hub (better: RUNLOG_TOKEN_FILE or RUNLOG_TOKEN, which `ps` does not show)');
const tokenFile = () => flag('--token-file <path>', 'file holding the token for the hub');

/** Commands that talk to a hub get --token and --token-file. */
function withToken(command: Command): Command {
  return command.addOption(token()).addOption(tokenFile());
}

program.hook('preAction', async (_program, action) => {
  running = action;
  for (const option of action.options) {
    const env = badSwitches.get(option);
    if (env !== undefined) {
      process.stderr.write(`runlog: ${env}: expected ${[...SWITCH_ON, ...SWITCH_OFF.filter(Boolean)].join(', ')} (or unset), got ${JSON.stringify(process.env[env])}\n`);
      process.exit(2);
    }
  }
  const options = action.opts() as { token?: string; tokenFile?: string };
  if (options.token === undefined && options.tokenFile === undefined) return;
  const { setHubToken, readTokenFile } = await import('../sinks/hub-http.js');
  setHubToken(options.token ?? readTokenFile(options.tokenFile as string));
});

program
  .command('server')
  .description('start the hub: HTTP API, live streams, the store, retention')
  .addOption(flag('--host <host>', 'address to bind', DEFAULTS.host))
  .addOption(flag('--port <port>', 'port to listen on', String(DEFAULTS.port)))
  .addOption(data())
  .addOption(db())
  .addOption(flag('--max-line-bytes <n>', 'longest line kept whole', String(DEFAULTS.maxLineBytes)))
  .addOption(flag('--retention <duration>', 'how long worker lines are kept', DEFAULTS.workerRetention))
  .addOption(flag('--run-retention <duration>', 'how long ended runs and their lines are kept (0: forever)', '0'))
  .addOption(flag('--base-path <path>', 'serve everything (API, live streams, /healthz, /metrics, UI) under this path, behind a reverse proxy (/runlog)'))
  .addOption(new Option('--access-log', 'one line per request on stderr: method, route, status, ms, token name (default: on; env: RUNLOG_ACCESS_LOG=0 turns it off)'))
  .addOption(new Option('--no-access-log', 'no access log'))
  .addOption(flag('--public-url <url>', 'the URL users reach the hub at (comma-separated for several): its host names are served'))
  .addOption(flag('--secret-file <path>', "key that encrypts tasks' environment values (default <data>/secret.key; hubs on one database share it)"))
  .action(async (options) => (await import('./commands/server.js')).serverCommand(options));

withToken(program
  .command('run')
  .description('run a command, capture its output, ship it to the hub (or the local store)')
  .usage('[options] -- <command> [args...]')
  .argument('<command...>', 'the command to run and its arguments')
  .addOption(hub())
  .addOption(data())
  .addOption(repeatable('--setup <cmd>', 'a setup step run through the shell before the command'))
  .addOption(flag('--id <id>', 'run id (default: generated)'))
  .addOption(flag('--name <name>', 'a name for the run'))
  .addOption(flag('--task <id>', 'task id the run belongs to'))
  .addOption(repeatable('--label <k=v>', 'a label'))
  .addOption(flag('--cwd <dir>', 'working directory of the command'))
  .addOption(flag('--log-dir <dir>', 'where the run log file goes (default: <data>/logs)'))
  .addOption(flag('-q, --quiet', 'do not show the command output'))
  .addOption(flag('--json', 'print the run as JSON at the end'))
  .addOption(flag('--max-line-bytes <n>', 'longest line kept whole', String(DEFAULTS.maxLineBytes)))
  .addOption(flag('--flush-timeout <duration>', 'how long to wait at the end for a hub that does not answer (the rest waits in the WAL for `runlog sync`)', '10s'))
  .addOption(flag('--lease <duration>', "how often the run's lease is renewed on the hub (it fails the run after 3 silent leases)", `${DEFAULTS.leaseSeconds}s`))
  // no environment twin: RUNLOG_FOLLOW=1 is `logs -f`'s, and would be taken here for a file named 1
  .addOption(new Option('--follow <path>', 'a file (or glob) the command writes: its lines join the run, source `file` (repeatable)').argParser(collectPath).default([]))
  .passThroughOptions()
  .action(async (command: string[], options) => (await import('./commands/run.js')).runCommand(command, options)));

withToken(program
  .command('follow')
  .description("ship files' lines into a run as they grow: paths, globs, ssh://[user@]host[:port]/path")
  .argument('<files...>', "paths, globs ('logs/*.log', quoted) or ssh:// URLs")
  .addOption(new Option('--run <id>', 'the run the lines go to (created when it does not exist)').env('RUNLOG_RUN').makeOptionMandatory())
  .addOption(hubOnly())
  .addOption(data('where the follow checkpoints are: <data>/follow/<run>.json'))
  .addOption(flag('--name <name>', 'a name for the run'))
  .addOption(repeatable('--label <k=v>', 'a label'))
  .addOption(flag('--from-start', 'files already there, with no checkpoint: from their start (the default)'))
  .addOption(flag('--from-end', 'files already there, with no checkpoint: only what is written from now on'))
  .addOption(flag('--partial-timeout <duration>', 'a last line without its newline is shipped after the file has not grown this long', '1s'))
  .addOption(flag('--poll <duration>', 'how often files are looked at besides change events', '250ms'))
  .addOption(flag('--until-idle <duration>', 'stop once no file has grown for this long'))
  .addOption(flag('--end-on-exit', 'on SIGINT/SIGTERM (or --until-idle), end the run `completed` (default: it stays running)'))
  .addOption(repeatable('--ssh-option <args>', 'extra ssh arguments, e.g. "-i ~/.ssh/key" or "-o Port=2222"'))
  .addOption(flag('--max-line-bytes <n>', 'longest line kept whole', String(DEFAULTS.maxLineBytes)))
  .addOption(flag('--flush-timeout <duration>', 'how long to wait at the end for a hub that does not answer', '10s'))
  .addOption(flag('--release-after <duration>', 'a file renamed or moved away from its name is held open until it has not grown this long (5 s once deleted)', '5m'))
  .action(async (files: string[], options, command: Command) => {
    // a switch's env twin is its default: the other switch, given on the command line, wins over it
    if (options.fromStart && options.fromEnd) {
      if (command.getOptionValueSource('fromEnd') === 'default') options.fromEnd = undefined;
      else if (command.getOptionValueSource('fromStart') === 'default') options.fromStart = undefined;
    }
    return (await import('./commands/follow.js')).followCommand(files, options);
  }));

withToken(program
  .command('runs')
  .description('list runs, newest first')
  .addOption(flag('--status <status>', 'only runs with this status (queued, running, completed, failed, cancelled)'))
  .addOption(flag('--grep <text>', 'only runs with this text in their id, name, command, worker, task or labels (key=value), any case'))
  .addOption(repeatable('--label <k=v>', 'only runs with this label (given several: runs with every one)'))
  .addOption(flag('--limit <n>', 'how many', '50'))
  .addOption(json())
  .addOption(hub())
  .addOption(data())
  .addOption(db())
  .action(async (options) => (await import('./commands/runs.js')).runsCommand(options)));

withToken(program
  .command('logs')
  .description("print a run's lines, or a worker's own (worker:<id>)")
  .argument('<run>', 'run id, or worker:<id> for that worker\'s own lines')
  .addOption(flag('--tail <n>', 'only the last N lines'))
  .addOption(flag('--since <time>', 'only lines since an ISO timestamp, a number since the epoch or a duration ago (10m, 2h)'))
  .addOption(flag('--until <time>', 'only lines up to an ISO timestamp, a number since the epoch or a duration ago (not with -f)'))
  .addOption(flag('--level <level>', 'only this level and above (DEBUG, INFO, WARNING, ERROR, CRITICAL)'))
  .addOption(flag('--grep <text>', 'only lines containing this text (case-insensitive)'))
  .addOption(flag('--timestamps', 'prefix each line with its capture time'))
  .addOption(flag('--json', 'one JSON record per line, ANSI codes kept'))
  .addOption(flag('-f, --follow', 'keep printing new lines until the run ends (a worker\'s: until interrupted)'))
  .addOption(hub())
  .addOption(data())
  .addOption(db())
  .action(async (run: string, options) => (await import('./commands/logs.js')).logsCommand(run, options)));

withToken(program
  .command('grep')
  .description('find lines containing TEXT across every run and worker, newest first (case-insensitive)')
  .argument('<text>', 'the text to find')
  .addOption(flag('--since <time>', 'only lines since an ISO timestamp, a number since the epoch or a duration ago (7d, 2h)'))
  .addOption(flag('--until <time>', 'only lines up to an ISO timestamp, a number since the epoch or a duration ago'))
  .addOption(repeatable('--label <k=v>', 'only runs with this label'))
  .addOption(flag('--level <level>', 'only this level and above (DEBUG, INFO, WARNING, ERROR, CRITICAL)'))
  .addOption(flag('--limit <n>', 'at most this many lines', '100'))
  .addOption(flag('--json', 'one JSON record per line, with run_id or worker_id'))
  .addOption(hub())
  .addOption(data())
  .addOption(db())
  .action(async (text: string, options) => (await import('./commands/grep.js')).grepCommand(text, options)));

withToken(program
  .command('submit')
  .description('queue a command for a worker; with --wait, print its response when it ends')
  .usage('[options] -- <command> [args...]')
  .argument('<command...>', 'the command to run and its arguments')
  .addOption(repeatable('--setup <cmd>', 'a setup step run through the shell before the command'))
  .addOption(flag('--id <id>', 'run id (default: generated)'))
  .addOption(flag('--name <name>', 'a name for the run'))
  .addOption(repeatable('--label <k=v>', 'a label'))
  .addOption(repeatable('--env <K=V>', 'an environment variable for the command'))
  .addOption(flag('--cwd <dir>', 'working directory of the command on the worker'))
  .addOption(flag('--wait [seconds]', 'wait for the end (at most this long) and print the response'))
  .addOption(json())
  .addOption(hubOnly())
  .passThroughOptions()
  .action(async (command: string[], options) => (await import('./commands/submit.js')).submitCommand(command, options)));

withToken(program
  .command('worker')
  .description('run a worker: heartbeats with its lines and GPU memory, claims and runs tasks')
  .addOption(new Option('--id <id>', 'worker id').env('RUNLOG_WORKER_ID').makeOptionMandatory())
  .addOption(hubOnly())
  .addOption(data())
  .addOption(flag('--heartbeat <duration>', 'heartbeat interval (HEARTBEAT_INTERVAL, in seconds, is honoured)'))
  .addOption(flag('--buffer <n>', 'worker lines buffered before a flush (LOG_BUFFER_SIZE is honoured)'))
  .addOption(flag('--spool <dir>', 'where heartbeats wait while the hub is away (default: <data>/spool)'))
  .addOption(flag('--spool-max <bytes>', 'spool bound; past it the oldest are dropped and counted', String(DEFAULTS.spoolMaxBytes)))
  .addOption(flag('--poll <duration>', 'how often an idle worker asks for a task', '1s'))
  .addOption(flag('--drain', 'on SIGTERM/SIGINT, finish the current task before exiting (default: hand it back)'))
  .addOption(flag('--lease <duration>', "how often a task's lease is renewed on the hub", `${DEFAULTS.leaseSeconds}s`))
  .addOption(flag('--debug', 'debug log format, and buffer stats every 5 minutes'))
  .addOption(flag('--replace', 'start even though the hub sees a worker with this id online from another host (it is gone)'))
  .action(async (options) => (await import('./commands/worker.js')).workerCommand(options)));

withToken(program
  .command('workers')
  .description('list workers: status, GPU memory, current task')
  .addOption(json())
  .addOption(hub())
  .addOption(data())
  .addOption(db())
  .action(async (options) => (await import('./commands/workers.js')).workersCommand(options)));

program
  .command('gpu')
  .description("this machine's GPUs (nvidia-smi)")
  .addOption(json())
  .action(async (options) => (await import('./commands/gpu.js')).gpuCommand(options));

withToken(program
  .command('cleanup')
  .description('delete worker lines (and, if asked, ended runs) older than a duration, now')
  .addOption(flag('--older-than <duration>', 'worker lines older than this', DEFAULTS.workerRetention))
  .addOption(flag('--runs-older-than <duration>', 'also ended runs and their lines older than this'))
  .addOption(hub())
  .addOption(data())
  .addOption(db())
  .action(async (options) => (await import('./commands/cleanup.js')).cleanupCommand(options)));

const tokens = program.command('token').description('create, list and revoke tokens (through a hub with an admin token, or on the local store with --hub none)');
withToken(
  tokens
    .command('create')
    .description('create a token and print it, once')
    .argument('<name>', 'a name for the token (shown in lists and audit lines)')
    .addOption(flag('--scope <scopes>', 'comma-separated: read, write, worker, submit, admin').makeOptionMandatory())
    .addOption(flag('--worker <id>', 'the worker a worker token acts for (required with the worker scope)'))
    .addOption(flag('--expires <duration>', 'expire after this long (90d, 12h); default never'))
    .addOption(json())
    .addOption(hub())
    .addOption(data())
    .addOption(db())
    .action(async (name: string, options) => (await import('./commands/token.js')).createToken(name, options)),
);
withToken(
  tokens
    .command('list')
    .description('the tokens: name, scopes, worker, created, expires, last used (never the secret)')
    .addOption(json())
    .addOption(hub())
    .addOption(data())
    .addOption(db())
    .action(async (options) => (await import('./commands/token.js')).listTokens(options)),
);
withToken(
  tokens
    .command('revoke')
    .description('revoke a token (its web sessions end too)')
    .argument('<name>', 'the token to revoke')
    .addOption(hub())
    .addOption(data())
    .addOption(db())
    .action(async (name: string, options) => (await import('./commands/token.js')).revokeToken(name, options)),
);

withToken(program
  .command('sync')
  .description('send to the hub what runners on this data directory left undelivered (killed, hub away); says what it sent')
  .addOption(flag('--hub <url>', 'send to this hub (default: the hub each run was meant for)'))
  .addOption(data())
  .addOption(flag('--timeout <duration>', 'how long to retry a hub that does not answer, per run', '10s'))
  .addOption(flag('-q, --quiet', 'say nothing, only the exit code'))
  .addOption(json())
  .action(async (options) => (await import('./commands/sync.js')).syncCommand(options)));

withToken(program
  .command('cancel')
  .description('cancel a run: a queued task never runs; a running one is stopped by its runner or worker (SIGTERM, SIGKILL 10 s later)')
  .argument('<run>', 'run id')
  .addOption(json())
  .addOption(hubOnly())
  .addOption(data())
  .action(async (run: string, options) => (await import('./commands/control.js')).cancelCommand(run, options)));

withToken(program
  .command('rm')
  .description('delete an ended run and its lines (refused while it is queued or running)')
  .argument('<run>', 'run id')
  .addOption(hub())
  .addOption(data())
  .action(async (run: string, options) => (await import('./commands/control.js')).rmCommand(run, options)));

withToken(program
  .command('rerun')
  .description("queue a task's command again as a new run (linked to the old one: rerun_of); with --wait, print its response")
  .argument('[run]', 'run id of the task to run again')
  .addOption(flag('--wait [seconds]', 'wait for the end (at most this long) and print the response'))
  .addOption(json())
  .addOption(hubOnly())
  .addOption(data())
  .action(async (run: string | undefined, options) => {
    // `rerun --wait RUN`: the optional seconds took the run id
    if (run === undefined && typeof options.wait === 'string' && !/^\d+$/.test(options.wait)) [run, options.wait] = [options.wait, true];
    if (run === undefined) throw new Error("missing required argument 'run'");
    return (await import('./commands/control.js')).rerunCommand(run, options);
  }));

program
  .command('migrate')
  .description("create or upgrade the store's schema now (a hub does it on start): prints each step")
  .addOption(db())
  .addOption(data())
  .addOption(flag('--dry-run', 'print the steps that would be applied, apply none'))
  .action(async (options) => (await import('./commands/migrate.js')).migrateCommand(options));

/**
 * A message about a flag (`--limit: expected …`) whose value came from its environment twin says
 * so, `--limit (RUNLOG_LIMIT): …`: the user typed no `--limit`, and would look for it in vain.
 */
function fromEnv(message: string): string {
  const named = /^(--[a-z][a-z-]*)/.exec(message)?.[1];
  const option = named === undefined ? undefined : running?.options.find((candidate) => candidate.long === named);
  if (option?.envVar === undefined || running?.getOptionValueSource(option.attributeName()) !== 'env') return message;
  return `${named} (${option.envVar})${message.slice(named!.length)}`;
}

// a reader that goes away (`runlog logs RUN | head`) is not an error
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

program.parseAsync(process.argv).catch((error: unknown) => {
  // commander has already printed its own usage errors; help and --version exit 0
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  process.stderr.write(`runlog: ${fromEnv(error instanceof Error ? error.message : String(error))}\n`);
  process.exit(2);
});
