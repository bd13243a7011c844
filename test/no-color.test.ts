/** NO_COLOR (https://no-color.org): `runlog logs` and `runlog grep` on a terminal print a job's colours unless it is set. */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, cli, tempDir } from './helpers.js';

/** `runlog ARGS` on a pseudo-terminal (util-linux `script`), its output as the terminal got it. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const command = [process.execPath, CLI, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, RUNLOG_HUB: '', NO_COLOR: '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(out)));
}

describe('NO_COLOR', () => {
  it('keeps colours on a terminal, drops them when NO_COLOR is set (logs, grep)', async (context) => {
    if (spawnSync('script', ['--version']).error) {
      if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error('util-linux `script` (a pseudo-terminal) is missing; strict mode: not skipping');
      return context.skip();
    }
    const data = tempDir();
    const made = await cli(['run', '--quiet', '--hub', 'none', '--data', data, '--id', 'red', '--', '/usr/bin/printf', '\\033[31mred alert\\033[0m\\n']);
    expect(made.code).toBe(0);
    const store = ['--hub', 'none', '--data', data];
    const [logs, logsPlain, grep, grepPlain] = await Promise.all([
      onTerminal(['logs', 'red', ...store], {}),
      onTerminal(['logs', 'red', ...store], { NO_COLOR: '1' }),
      onTerminal(['grep', 'alert', ...store], {}),
      onTerminal(['grep', 'alert', ...store], { NO_COLOR: '1' }),
    ]);
    expect(logs).toContain('\x1b[31mred alert\x1b[0m');
    expect(grep).toContain('\x1b[31mred alert\x1b[0m');
    for (const plain of [logsPlain, grepPlain]) {
      expect(plain).toContain('red alert');
      expect(plain).not.toContain('\x1b');
    }
  });
});
