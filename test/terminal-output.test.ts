/**
 * What a person at a terminal sees: `runlog logs` and `runlog grep` print a job's colours unless
 * NO_COLOR (https://no-color.org) is set; `runlog runs` fits the terminal's width.
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, cli, tempDir } from './helpers.js';

/** `runlog ARGS` on a pseudo-terminal (util-linux `script`), its output as the terminal got it. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv, columns = 100): Promise<string> {
  const command = `stty cols ${columns}; ${[process.execPath, CLI, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, RUNLOG_HUB: '', NO_COLOR: '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(out)));
}

function noTerminal(): boolean {
  if (!spawnSync('script', ['--version']).error) return false;
  if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error('util-linux `script` (a pseudo-terminal) is missing; strict mode: not skipping');
  return true;
}

describe('NO_COLOR', () => {
  it('keeps colours on a terminal, drops them when NO_COLOR is set (logs, grep)', async (context) => {
    if (noTerminal()) return context.skip();
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

describe('runlog runs on a terminal', () => {
  it('fits 80 columns (a long name and a long id cut with …, a generated id whole); into a pipe every id whole', async (context) => {
    if (noTerminal()) return context.skip();
    const data = tempDir();
    const longId = `exp-${'x'.repeat(100)}`;
    for (const [id, name] of [[longId, 'baseline'], ['r-mx7y5oib-242d4dc5', 'a very long descriptive experiment name for the ablation study number seven']]) {
      expect((await cli(['run', '--quiet', '--hub', 'none', '--data', data, '--id', id!, '--name', name!, '--', 'true'])).code).toBe(0);
    }
    const shown = await onTerminal(['runs', '--hub', 'none', '--data', data], {}, 80);
    const lines = shown.replace(/\r/g, '').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
    expect(lines.find((line) => line.startsWith('r-mx7y5oib-242d4dc5 '))).toMatch(/ a very long…$/);
    expect(lines.find((line) => line.startsWith('exp-'))).toMatch(/^exp-x{14}… /);
    const piped = (await cli(['runs', '--hub', 'none', '--data', data])).stdout;
    expect(piped).toContain(`${longId}  completed`);
    expect(piped).toContain('a very long descriptive experiment name for the ablation st…');
  });
});
