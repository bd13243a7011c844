/** `runlog run` end to end: real child processes, the built CLI, a real SQLite file. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import { cli, FIXTURES, PYTHON, tempDir } from './helpers.js';

interface RunJson {
  id: string;
  status: string;
  exit_code: number | null;
  signal: string | null;
  error_message: string | null;
  log_path: string;
  line_count: number;
  duration_seconds: number;
}

/** Runs a command with no hub (the local store) and returns the run summary and its stored lines. */
async function runLocal(command: string[], flags: string[] = []) {
  const data = tempDir();
  const result = await cli(['run', '--quiet', '--json', '--data', data, ...flags, '--', ...command]);
  const run = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as RunJson;
  const logs = await cli(['logs', run.id, '--json', '--data', data]);
  const records = logs.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as WireRecord);
  return { result, run, records, data };
}

describe('runlog run', () => {
  it('says on stderr why a command could not start (exit 127), and refuses a hub URL that is not http(s) before running anything', async () => {
    const missing = await cli(['run', '--hub', 'none', '--data', tempDir(), '-q', '--', 'no-such-command-xyz']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-command-xyz: could not start/);
    const dir = tempDir();
    const marker = join(dir, 'ran');
    const bad = await cli(['run', '--hub', 'ftp://x', '--data', dir, '--', '/bin/sh', '-c', `touch ${marker}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--hub "ftp://x": expected an http:// or https:// URL');
    expect(existsSync(marker)).toBe(false);
  });

  it('captures a Python program: every level, a tqdm bar as one line, a traceback block, exit code 3', async () => {
    const { result, run, records } = await runLocal([PYTHON, join(FIXTURES, 'levels_traceback.py')]);
    expect(result.code).toBe(3);
    expect(run).toMatchObject({ status: 'failed', exit_code: 3 });
    const levelOf = (text: string) => records.find((r) => r.message.includes(text))?.level;
    expect(levelOf('loading config')).toBe('DEBUG');
    expect(levelOf('epoch 1 starting')).toBe('INFO');
    expect(levelOf('learning rate is high')).toBe('WARNING');
    expect(levelOf('checkpoint write slow')).toBe('ERROR');
    expect(levelOf('gpu temperature critical')).toBe('CRITICAL');
    expect(levelOf('0 errors found')).toBe('INFO');

    const bar = records.filter((r) => r.message.includes('/10000'));
    expect(bar.length).toBeGreaterThan(0);
    expect(bar.length).toBeLessThanOrEqual(5);
    expect(bar.some((r) => r.message.includes('100%') && r.message.includes('10000/10000'))).toBe(true);

    const traceback = records.filter((r) => r.attrs?.group !== undefined);
    expect(traceback.length).toBeGreaterThan(6);
    expect(traceback.every((r) => r.level === 'ERROR')).toBe(true);
    // the chained traceback (raise … from …) is one block
    expect(new Set(traceback.map((r) => r.attrs?.group)).size).toBe(1);
    expect(run.error_message).toBe('RuntimeError: training step failed');
    expect(run.line_count).toBe(records.length);
  });

  it("exits with the command's exit code and keeps the cause when there is no traceback", async () => {
    const { result, run } = await runLocal([PYTHON, join(FIXTURES, 'exit_code.py'), '3']);
    expect(result.code).toBe(3);
    expect(run).toMatchObject({ status: 'failed', exit_code: 3 });
  });

  it('uses the last stderr lines as the error when there is no traceback', async () => {
    const { run } = await runLocal(['/bin/sh', '-c', 'echo fine; echo "disk full: /data" >&2; exit 2']);
    expect(run.error_message).toBe('disk full: /data');
  });

  it('exits 128+N when the command is killed by signal N', async () => {
    const { result, run } = await runLocal(['/bin/sh', '-c', 'kill -9 $$']);
    expect(result.code).toBe(137);
    expect(run).toMatchObject({ status: 'failed', signal: 'SIGKILL', exit_code: null });
  });

  it('keeps invalid UTF-8 as U+FFFD, a split character whole, CRLF lines, and a last line without newline', async () => {
    const { records } = await runLocal([PYTHON, join(FIXTURES, 'bytes.py')]);
    expect(records.map((r) => r.message)).toEqual(['bad \uFFFD\uFFFD bytes', 'price: 5€', 'windows line', 'last line without newline']);
  });

  it('cuts a 5 MB line at the limit, flags it, and keeps the lines after it', async () => {
    const { records } = await runLocal(['/bin/sh', '-c', `head -c 5000000 /dev/zero | tr '\\0' a; echo; echo after`]);
    expect(records).toHaveLength(2);
    expect(records[0]?.message.length).toBe(64 * 1024);
    expect(records[0]?.attrs?.truncated).toBe(true);
    expect(records[1]?.message).toBe('after');
  });

  it('runs setup steps first, in phase setup; a failing one fails the run and the command never starts', async () => {
    const marker = join(tempDir(), 'ran');
    const { result, run, records } = await runLocal(['/bin/sh', '-c', `touch ${marker}`], ['--setup', 'echo installing deps', '--setup', 'echo broken >&2; exit 4']);
    expect(result.code).toBe(4);
    expect(run.status).toBe('failed');
    expect(run.error_message).toContain('setup step 2 (echo broken >&2; exit 4) failed: exit code 4');
    expect(run.error_message).toContain('broken');
    expect(records.find((r) => r.message === 'installing deps')?.phase).toBe('setup');
    expect(() => readFileSync(marker)).toThrow();
  });

  it('captures setup and run phases in one run, in order', async () => {
    const { run, records } = await runLocal(['/bin/sh', '-c', 'echo training'], ['--setup', 'echo preparing']);
    expect(run.status).toBe('completed');
    const messages = records.filter((r) => r.source !== 'system').map((r) => [r.phase, r.message]);
    expect(messages).toEqual([
      ['setup', 'preparing'],
      ['run', 'training'],
    ]);
  });

  it('gives the command RUNLOG_RUN_ID and writes the log file at log_path', async () => {
    const { run, records } = await runLocal(['/bin/sh', '-c', 'echo "id=$RUNLOG_RUN_ID"; printf "\\033[31mred\\033[0m\\n"'], ['--id', 'my-run.1']);
    expect(run.id).toBe('my-run.1');
    expect(records[0]?.message).toBe('id=my-run.1');
    expect(records[1]?.message).toBe('\x1b[31mred\x1b[0m'); // --json keeps ANSI codes
    expect(run.log_path.endsWith('/logs/my-run.1.log')).toBe(true);
    const file = readFileSync(run.log_path, 'utf8').split('\n');
    expect(file[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \[INFO\] id=my-run\.1$/);
    expect(file[1]).toMatch(/\[INFO\] red$/); // no ANSI codes in the file
  });

  it("puts --json's summary on a line of its own when the command's output did not end its line", async () => {
    const data = tempDir();
    const result = await cli(['run', '--json', '--data', data, '--', 'printf', 'no newline at the end']);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('no newline at the end');
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ status: 'completed', exit_code: 0 });
    expect(lines.slice(2)).toEqual(['']);
  });

  it('passes SIGTERM on to the command and marks the run cancelled', async () => {
    const data = tempDir();
    const running = cli(['run', '--json', '--data', data, '--id', 'cancel-me', '--', PYTHON, join(FIXTURES, 'paced.py'), '1000', '0.05']);
    let seen = '';
    await new Promise<void>((resolve) =>
      running.child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('paced 3')) resolve();
      }),
    );
    running.child.kill('SIGTERM');
    const result = await running;
    expect(result.code).toBe(143);
    const run = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as RunJson;
    expect(run).toMatchObject({ status: 'cancelled', signal: 'SIGTERM' });
  });

  it('keeps every line in the local store when the hub it was given never answers, exit code unchanged', async () => {
    const data = tempDir();
    const result = await cli(['run', '--quiet', '--json', '--hub', 'http://127.0.0.1:9', '--flush-timeout', '1s', '--data', data, '--id', 'no-hub', '--', PYTHON, join(FIXTURES, 'exit_code.py'), '7']);
    expect(result.code).toBe(7);
    expect(result.stderr).toContain('lines kept in the local store');
    const logs = await cli(['logs', 'no-hub', '--data', data]);
    // the command's line, then the runner's own: why the run failed, where its diagnostics are
    expect(logs.stdout.split('\n').slice(0, 2)).toEqual(['about to exit', 'exit code 7']);
    expect(logs.stdout).toMatch(/diagnostics written to .*\/logs\/diagnostics\/no-hub\.json/);
    const runs = JSON.parse((await cli(['runs', '--json', '--data', data])).stdout) as RunJson[];
    expect(runs[0]).toMatchObject({ id: 'no-hub', status: 'failed', exit_code: 7 });
  });

  it('refuses to run again under the id of an existing run', async () => {
    const data = tempDir();
    expect((await cli(['run', '--quiet', '--id', 'once', '--data', data, '--', 'true'])).code).toBe(0);
    const again = await cli(['run', '--quiet', '--id', 'once', '--data', data, '--', 'true']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('run once already exists');
  });

  it('refuses a bad id before running anything', async () => {
    const result = await cli(['run', '--id', '../etc', '--data', tempDir(), '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--id');
  });

  it('reports a command that cannot start as failed with exit code 127', async () => {
    const { result, run } = await runLocal(['definitely-not-a-command-xyz']);
    expect(result.code).toBe(127);
    expect(run.status).toBe('failed');
    expect(run.error_message).toContain('definitely-not-a-command-xyz');
  });
});
