import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
/** The read commands, `runlog logs` and `runlog runs`, on the local store and through a hub. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cli, getJson, hubOn, tempDir } from './helpers.js';

const SCRIPT = [
  'echo "2026-01-01 10:00:00 INFO starting"',
  'echo "2026-01-01 10:00:01 WARNING disk almost full"',
  'echo "2026-01-01 10:00:02 ERROR checkpoint failed"',
  'echo "plain line"',
  'printf "\\033[32mgreen text\\033[0m\\n"',
].join('; ');

describe.each(['local store', 'hub'])('runlog logs and runs (%s)', (mode) => {
  let hub: RunningHub | undefined;
  let data: string;
  const where = () => (hub ? ['--hub', hub.url] : ['--data', data]);

  beforeAll(async () => {
    data = tempDir();
    if (mode === 'hub') hub = await hubOn(tempDir());
    const ok = await cli(['run', '--quiet', '--id', 'r1', '--name', 'first', ...where(), '--', '/bin/sh', '-c', SCRIPT]);
    expect(ok.code).toBe(0);
    const bad = await cli(['run', '--quiet', '--id', 'r2', '--label', 'team=vision', '--label', 'gpu=h200', ...where(), '--', '/bin/sh', '-c', 'exit 5']);
    expect(bad.code).toBe(5);
  });
  afterAll(async () => hub?.close());

  const logs = async (...args: string[]) => (await cli(['logs', ...args, ...where()])).stdout.trim().split('\n');

  it('prints every line, without ANSI codes when not on a terminal', async () => {
    expect(await logs('r1')).toEqual([
      '2026-01-01 10:00:00 INFO starting',
      '2026-01-01 10:00:01 WARNING disk almost full',
      '2026-01-01 10:00:02 ERROR checkpoint failed',
      'plain line',
      'green text',
    ]);
  });

  it('--tail N prints the last N lines', async () => {
    expect(await logs('r1', '--tail', '2')).toEqual(['plain line', 'green text']);
  });

  it('--level WARNING means WARNING and above', async () => {
    expect(await logs('r1', '--level', 'warning')).toEqual(['2026-01-01 10:00:01 WARNING disk almost full', '2026-01-01 10:00:02 ERROR checkpoint failed']);
  });

  it('--grep finds text case-insensitively, ANSI codes aside', async () => {
    expect(await logs('r1', '--grep', 'GREEN TEXT')).toEqual(['green text']);
  });

  it('--since takes a duration or an ISO timestamp', async () => {
    expect(await logs('r1', '--since', '1h')).toHaveLength(5);
    expect(await logs('r1', '--since', '2999-01-01T00:00:00Z')).toEqual(['']);
  });

  it('--timestamps prefixes the capture time; --json keeps ANSI codes', async () => {
    expect((await logs('r1', '--timestamps', '--tail', '1'))[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z green text$/);
    const json = (await logs('r1', '--json', '--tail', '1')).map((l) => JSON.parse(l));
    expect(json[0]).toMatchObject({ seq: 5, level: 'INFO', message: '\x1b[32mgreen text\x1b[0m', source: 'stdout', phase: 'run' });
  });

  it('--until keeps the lines up to a time; it is refused with -f, whose lines come after it', async () => {
    expect(await logs('r1', '--until', '2000-01-01T00:00:00Z')).toEqual(['']);
    expect(await logs('r1', '--until', '0s', '--tail', '2')).toEqual(['plain line', 'green text']);
    const followed = await cli(['logs', 'r1', '--until', '1h', '-f', ...where()]);
    expect(followed.code).toBe(2);
    expect(followed.stderr).toContain('--until');
  });

  it('refuses a bad flag value with a message naming it', async () => {
    const result = await cli(['logs', 'r1', '--since', 'someday', ...where()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--since');
  });

  it('says so when the run does not exist', async () => {
    const result = await cli(['logs', 'nope', ...where()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('run nope not found');
  });

  it('takes --status in any case, as --level (FAILED was refused), and says what it got when it is none', async () => {
    const failed = JSON.parse((await cli(['runs', '--status', 'FAILED', '--json', ...where()])).stdout) as { id: string }[];
    expect(failed.map((r) => r.id)).toEqual(['r2']);
    const bad = await cli(['runs', '--status', 'done', ...where()]);
    expect([bad.code, bad.stderr]).toEqual([2, 'runlog: --status: expected one of queued, running, completed, failed, cancelled, got "done"\n']);
  });

  it('lists runs, filtered by status, as a table or JSON', async () => {
    const table = (await cli(['runs', ...where()])).stdout;
    expect(table).toMatch(/^ID\s+STATUS/);
    expect(table).toContain('r1');
    const failed = JSON.parse((await cli(['runs', '--status', 'failed', '--json', ...where()])).stdout) as { id: string; exit_code: number }[];
    expect(failed.map((r) => [r.id, r.exit_code])).toEqual([['r2', 5]]);
    const named = JSON.parse((await cli(['runs', '--grep', 'FIRST', '--json', ...where()])).stdout) as { id: string }[];
    expect(named.map((r) => r.id)).toEqual(['r1']); // by name, any case
    const byCommand = JSON.parse((await cli(['runs', '--grep', 'exit 5', '--json', ...where()])).stdout) as { id: string }[];
    expect(byCommand.map((r) => r.id)).toEqual(['r2']);
  });

  it('lists the runs with every --label given (the hub: GET /api/runs?label=k=v), and refuses one without =', async () => {
    const labelled = async (...labels: string[]) => (JSON.parse((await cli(['runs', '--json', ...labels.flatMap((l) => ['--label', l]), ...where()])).stdout) as { id: string }[]).map((r) => r.id);
    expect(await labelled('team=vision')).toEqual(['r2']);
    expect(await labelled('team=vision', 'gpu=h200')).toEqual(['r2']);
    expect(await labelled('team=vision', 'gpu=a100')).toEqual([]);
    expect(await labelled('team=visio')).toEqual([]);
    const bad = await cli(['runs', '--label', 'team', ...where()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--label: expected key=value');
    if (hub) {
      const refused = await getJson<{ field: string }>(`${hub.url}/api/runs?label=team`);
      expect([refused.status, refused.body.field]).toEqual([400, 'label']);
    }
  });
});

describe('flags refused before anything starts', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => {
    await hub.close();
  });

  it('refuses a heartbeat under 1 s, a run id no run can have, a --wait of 0 or past what a timer holds (nothing queued), and a --db URL of another kind', async () => {
    const worker = await cli(['worker', '--id', 'w-fast', '--hub', hub.url, '--heartbeat', '0', '--data', tempDir()]);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain('--heartbeat: at least 1s');
    const submit = await cli(['submit', '--hub', hub.url, '--id', 'never-queued', '--wait', '3000000', '--', 'true']);
    expect(submit.code).toBe(2);
    expect(submit.stderr).toContain('--wait: at most 2147483 seconds');
    expect((await fetch(`${hub.url}/api/runs/never-queued`)).status).toBe(404);
    // a run id no run can have: said as cancel, rm and rerun say it, with a hub or without
    for (const where of [['--hub', hub.url], ['--hub', 'none', '--data', tempDir()]]) {
      const logs = await cli(['logs', 'bad id', ...where]);
      expect([logs.code, logs.stderr]).toEqual([2, 'runlog: RUN: ids match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}, got "bad id"\n']);
    }
    // --wait 0 would queue the task and give up on it at once, leaving it queued
    const zero = await cli(['submit', '--hub', hub.url, '--id', 'never-queued', '--wait', '0', '--', 'true']);
    expect([zero.code, zero.stderr]).toEqual([2, 'runlog: --wait: expected an integer ≥ 1, got "0"\n']);
    expect((await fetch(`${hub.url}/api/runs/never-queued`)).status).toBe(404);
    const dir = tempDir();
    const migrate = await cli(['migrate', '--db', 'mysql://x/y', '--data', dir], {});
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('expected postgres:// or postgresql://, or a SQLite file path');
  });

  it('names --id when submit is refused an id the hub has (it said only the hub\'s message, unlike `runlog run`)', async () => {
    const first = await cli(['submit', '--hub', hub.url, '--id', 'taken-1', '--', 'true']);
    expect([first.code, first.stdout]).toEqual([0, 'taken-1\n']);
    const again = await cli(['submit', '--hub', hub.url, '--id', 'taken-1', '--', 'true']);
    expect([again.code, again.stderr]).toEqual([2, 'runlog: --id: run taken-1 already exists: use another id\n']);
  });

  it('names --env, --setup and --cwd when the hub refuses what they give (it said only the field: `setup[0]: longer than 65536 bytes`)', async () => {
    const refused: [string[], string][] = [
      [['--env', 'A B=x'], 'runlog: --env: env.A B: not a variable name'],
      [['--setup', 'x'.repeat(70_000)], 'runlog: --setup: setup[0]: longer than 65536 bytes'],
      [['--cwd', 'd'.repeat(5000)], 'runlog: --cwd: cwd: longer than 4096 bytes'],
    ];
    for (const [flags, said] of refused) {
      const answer = await cli(['submit', '--hub', hub.url, ...flags, '--', 'true']);
      expect([answer.code, answer.stderr]).toEqual([2, expect.stringContaining(said)]);
    }
  });

  it('refuses a --cwd that is no directory before a run exists, naming --cwd (it made a failed run, exit 127)', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    for (const [cwd, said] of [['/nonexistent-qa', 'no such directory'], [file, 'not a directory']]) {
      const id = `bad-cwd-${said!.length}`;
      const answer = await cli(['run', '--hub', hub.url, '--data', tempDir(), '--id', id, '--cwd', cwd!, '--', 'true']);
      expect([answer.code, answer.stderr]).toEqual([2, `runlog: --cwd ${cwd}: ${said}\n`]);
      expect((await fetch(`${hub.url}/api/runs/${id}`)).status).toBe(404);
    }
  });

  it('names --port for a port past 65535 (it said `port: expected 0-65535`)', async () => {
    const server = await cli(['server', '--port', '70000', '--data', tempDir()]);
    expect([server.code, server.stderr]).toEqual([2, 'runlog: --port: expected 0 to 65535, got "70000"\n']);
  });

  it('says a task not ended after --wait is still queued (it said "still running" of a task no worker had claimed)', async () => {
    for (const json of [[], ['--json']]) {
      const id = `unclaimed${json.length}`;
      const submit = await cli(['submit', '--hub', hub.url, '--id', id, '--wait', '1', ...json, '--', 'true']);
      expect(submit.code).toBe(2);
      expect(submit.stderr).toContain(`runlog: run ${id} has not ended after 1s: it is queued and stays so (\`runlog cancel ${id}\` ends it)`);
    }
  });

  it('refuses a zero poll or idle time (it would spin, or stop at once), naming the flag', async () => {
    const file = join(tempDir(), 'app.log');
    writeFileSync(file, 'a line\n');
    const refused = [
      ['follow', file, '--run', 'zero-poll', '--hub', hub.url, '--poll', '0s'],
      ['follow', file, '--run', 'zero-idle', '--hub', hub.url, '--until-idle', '0ms'],
      ['worker', '--id', 'w-spin', '--hub', hub.url, '--poll', '0s', '--data', tempDir()],
    ];
    for (const args of refused) {
      const answer = await cli(args);
      const flag = args.find((arg) => arg === '--poll' || arg === '--until-idle')!;
      expect([answer.code, answer.stderr]).toEqual([2, expect.stringContaining(`${flag}: expected a duration above 0`)]);
    }
  });

  it('refuses a glob over ssh (it was taken as a file literally named *.log, waited for forever), saying to name each file', async () => {
    const answer = await cli(['follow', 'ssh://gpu-box/home/me/outputs/*.log', '--run', 'ssh-glob', '--hub', hub.url, '--data', tempDir()]);
    expect([answer.code, answer.stderr]).toEqual([2, expect.stringContaining('ssh://gpu-box/home/me/outputs/*.log: no globs over ssh')]);
  });

  it('refuses `runlog run --follow` of a directory or an ssh:// URL before the command runs (both were silently never read)', async () => {
    const dir = tempDir();
    const marker = join(dir, 'ran');
    for (const [target, said] of [
      [dir, `--follow ${dir}: a directory; follow its files with a glob, quoted: '${join(dir, '*.log')}'`],
      ['ssh://gpu-box/home/me/run.log', '--follow ssh://gpu-box/home/me/run.log: runlog run follows the files the command writes here'],
      // `--follow "$LOG"` with LOG unset: it was dropped, and the command ran with nothing followed
      ['', "option '--follow <path>' argument '' is invalid. an empty path"],
    ]) {
      const answer = await cli(['run', '--hub', hub.url, '--data', tempDir(), '--follow', target!, '--', 'touch', marker]);
      expect([answer.code, answer.stderr]).toEqual([2, expect.stringContaining(said!)]);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it('refuses to follow a named pipe (it said "no such file yet" and waited for ever, its writer blocked), pointing at what reads a pipe', async () => {
    const fifo = join(tempDir(), 'train.pipe');
    execFileSync('mkfifo', [fifo]);
    const answer = await cli(['follow', fifo, '--run', 'a-pipe', '--hub', hub.url, '--data', tempDir(), '--until-idle', '500ms']);
    expect([answer.code, answer.stderr]).toEqual([2, expect.stringContaining(`${fifo}: not a regular file (a pipe, a device)`)]);
    expect(answer.stderr).toContain('/api/runs/a-pipe/text');
  });

  it('lets --from-start / --from-end on the command line win over the other one set by its env twin (it was "choose one", exit 2)', async () => {
    const file = join(tempDir(), 'app.log');
    writeFileSync(file, 'already there\n');
    const fromStart = await cli(['follow', file, '--run', 'env-from-end', '--hub', hub.url, '--data', tempDir(), '--from-start', '--until-idle', '300ms'], { RUNLOG_FROM_END: '1' });
    expect([fromStart.code, fromStart.stderr]).toEqual([0, '']);
    const lines = (await (await fetch(`${hub.url}/api/runs/env-from-end/logs`)).json()) as { logs: { message: string }[] };
    expect(lines.logs.map((l) => l.message)).toEqual(['already there']);
    const fromEnd = await cli(['follow', file, '--run', 'env-from-start', '--hub', hub.url, '--data', tempDir(), '--from-end', '--until-idle', '300ms'], { RUNLOG_FROM_START: '1' });
    expect([fromEnd.code, fromEnd.stderr]).toEqual([0, '']);
    const none = (await (await fetch(`${hub.url}/api/runs/env-from-start/logs`)).json()) as { logs: unknown[] };
    expect(none.logs).toEqual([]);
    const both = await cli(['follow', file, '--run', 'both-flags', '--hub', hub.url, '--data', tempDir(), '--from-start', '--from-end']);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('--from-start and --from-end: choose one')]);
  });

  it('refuses `runlog server --retention 0s` (any zero duration, flag or RUNLOG_RETENTION): it would delete every worker line', async () => {
    const dir = tempDir();
    const runs: [string, string[], NodeJS.ProcessEnv][] = [
      ...['0s', '0m', '0.0h', '0ms', '0d'].map((zero): [string, string[], NodeJS.ProcessEnv] => [zero, ['--retention', zero], {}]),
      ['RUNLOG_RETENTION=0s', [], { RUNLOG_RETENTION: '0s' }],
    ];
    for (const [what, flags, env] of runs) {
      const server = cli(['server', '--port', '0', '--data', dir, ...flags], env);
      // a hub that started anyway is stopped, and the test fails on its exit code
      const timer = setTimeout(() => server.child.kill('SIGTERM'), 10_000);
      const result = await server.finally(() => clearTimeout(timer));
      expect(result.code, what).toBe(2);
      // a value from the twin is named with it
      expect(result.stderr, what).toContain(flags.length > 0 ? '--retention: expected a duration above 0' : '--retention (RUNLOG_RETENTION): expected a duration above 0');
      expect(result.stdout, what).not.toContain('listening');
    }
  });
});

describe('--help', () => {
  it('offers `--hub none` (the local store) only on commands that have one: submit, worker, cancel and rerun need a hub', async () => {
    for (const command of ['submit', 'worker', 'cancel', 'rerun']) {
      const help = await cli([command, '--help']);
      expect(help.stdout, command).toContain('--hub <url>');
      expect(help.stdout, command).not.toContain('"none": the local store');
    }
    const runs = (await cli(['runs', '--help'])).stdout;
    expect(runs).toContain('"none": the local store');
    // --grep matches a run's task id too (README, runs)
    expect(runs.replace(/\s+/g, ' ')).toContain('id, name, command, worker, task or labels');
    // one "(repeatable)" a flag: runs --label said it twice
    expect(runs.match(/repeatable/g)).toHaveLength(1);
  });
});
