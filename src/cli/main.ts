/**
 * The `runlog` command. Each subcommand's code is loaded only when it runs, so `runlog run` does
 * not pay for the hub's server code. Every flag has an environment twin (shown in --help).
 */
import { Command, Option } from 'commander';
import { DEFAULTS, ENV } from '../core/config.js';

const program = new Command('runlog')
  .description('Capture, keep, search and watch live every line your jobs print.')
  .showHelpAfterError()
  .enablePositionalOptions();

const dataOption = () => new Option('--data <dir>', 'data directory (SQLite store, logs, spool)').env(ENV.data).default(DEFAULTS.data);
const hubOption = () => new Option('--hub <url>', `hub URL (default ${DEFAULTS.hub} when it answers)`).env(ENV.hub);

program
  .command('server')
  .description('start the hub: HTTP API, live streams, and the store')
  .addOption(new Option('--host <host>', 'address to bind').env(ENV.host).default(DEFAULTS.host))
  .addOption(new Option('--port <port>', 'port to listen on').env(ENV.port).default(String(DEFAULTS.port)))
  .addOption(dataOption())
  .addOption(new Option('--max-line-bytes <n>', 'longest line kept whole').env(ENV.maxLineBytes).default(String(DEFAULTS.maxLineBytes)))
  .action(async (options) => (await import('./commands/server.js')).serverCommand(options));

program
  .command('run')
  .description('run a command, capture its output, ship it to the hub (or the local store)')
  .usage('[options] -- <command> [args...]')
  .argument('<command...>', 'the command to run and its arguments')
  .addOption(hubOption())
  .addOption(dataOption())
  .option('--setup <cmd>', 'a setup step run through the shell before the command (repeatable)', collect, [])
  .option('--id <id>', 'run id (default: generated)')
  .option('--name <name>', 'a name for the run')
  .option('--task <id>', 'task id the run belongs to')
  .option('--label <k=v>', 'a label (repeatable)', collect, [])
  .option('--cwd <dir>', 'working directory of the command')
  .addOption(new Option('--log-dir <dir>', 'where the run log file goes (default: <data>/logs)').env(ENV.logDir))
  .option('-q, --quiet', 'do not show the command output')
  .option('--json', 'print the run as JSON at the end')
  .addOption(new Option('--max-line-bytes <n>', 'longest line kept whole').env(ENV.maxLineBytes).default(String(DEFAULTS.maxLineBytes)))
  .option('--flush-timeout <duration>', 'how long to wait for an absent hub at the end', '10s')
  .passThroughOptions()
  .action(async (command: string[], options) => (await import('./commands/run.js')).runCommand(command, options));

program
  .command('runs')
  .description('list runs')
  .option('--status <status>', 'only runs with this status (queued, running, completed, failed, cancelled)')
  .option('--limit <n>', 'how many', '50')
  .option('--json', 'JSON output')
  .addOption(hubOption())
  .addOption(dataOption())
  .action(async (options) => (await import('./commands/runs.js')).runsCommand(options));

program
  .command('logs')
  .description("print a run's lines")
  .argument('<run>', 'run id')
  .option('--tail <n>', 'only the last N lines')
  .option('--since <time>', 'only lines since an ISO timestamp or a duration ago (10m, 2h)')
  .option('--level <level>', 'only this level and above (DEBUG, INFO, WARNING, ERROR, CRITICAL)')
  .option('--grep <text>', 'only lines containing this text (case-insensitive)')
  .option('--timestamps', 'prefix each line with its capture time')
  .option('--json', 'one JSON record per line, ANSI codes kept')
  .option('-f, --follow', 'keep printing new lines until the run ends')
  .addOption(hubOption())
  .addOption(dataOption())
  .action(async (run: string, options) => (await import('./commands/logs.js')).logsCommand(run, options));

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`runlog: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
