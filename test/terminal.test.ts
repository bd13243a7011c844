/**
 * What runlog prints on a real terminal (issue 8, "The terminal"): stored lines are anyone's text,
 * so `runlog logs`, `grep` and `submit --wait` keep their colours and drop every other escape
 * sequence. The terminal is a pseudo-terminal from util-linux `script`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { CLI, cli, hubOn, tempDir, waitFor } from './helpers.js';

const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;
if (!HAS_SCRIPT && process.env.RUNLOG_TEST_STRICT === '1') throw new Error('util-linux `script` is needed for the terminal tests');

/** lines as a stranger could post them: colours, and sequences that act on the terminal */
const HOSTILE = [
  'plain',
  '\x1b[31mred\x1b[0m and \x1b[1;32mbold green\x1b[0m',
  'clip\x1b]52;c;cm0gLXJmIH4K\x07board',
  '\x1b]0;pwned title\x07\x1b]2;pwned title\x1b\\titled',
  'earlier line\x1b[1A\x1b[2K\x1b[2J\x1b[Hcleared',
  'secret\rpublic',
  '\x1bP1$qm\x1b\\dcs \x9b2J c1',
];
const SAFE = ['plain', '\x1b[31mred\x1b[0m and \x1b[1;32mbold green\x1b[0m', 'clipboard', 'titled', 'earlier linecleared', 'secretpublic', 'dcs  c1'];

/** `runlog ARGS` with its stdout on a pseudo-terminal; the terminal's own \r\n line ends become \n */
function onTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CLI, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, RUNLOG_HUB: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output: output.replace(/\r\n/g, '\n') })));
}

function checkSafe(output: string): void {
  expect(output).not.toContain('\x1b]'); // no OSC: clipboard, titles
  expect(output).not.toContain('\x1bP');
  expect(output).not.toContain('\x9b');
  expect(output).not.toMatch(/\x1b\[[\d;?]*[A-HJKSTf]/); // no cursor moves, no erase
  expect(output.replace(/\x1b\[[\d;]*m/g, '')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
}

describe.skipIf(!HAS_SCRIPT)('stored lines on a terminal', () => {
  let hub: RunningHub;
  const post = (path: string, body: unknown, writer?: string) =>
    fetch(`${hub.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(writer === undefined ? {} : { 'x-runlog-writer': writer }) },
      body: JSON.stringify(body),
    });
  const records = () => HOSTILE.map((message, index) => ({ seq: index + 1, timestamp: 1_700_000_000_000_000 + index, level: 'INFO', message }));

  beforeAll(async () => {
    hub = await hubOn(tempDir());
    await post('/api/runs', { id: 'hostile' });
    await post('/api/runs/hostile/logs', { records: records() });
  });
  afterAll(async () => hub.close());

  it('runlog logs keeps colours and drops OSC 52, titles, cursor moves, erase, DCS and a lone \\r', async () => {
    const { code, output } = await onTerminal(['logs', 'hostile', '--hub', hub.url]);
    expect(code).toBe(0);
    checkSafe(output);
    expect(output.trimEnd().split('\n')).toEqual(SAFE);
  });

  it('runlog grep prints the lines it finds the same way', async () => {
    const { code, output } = await onTerminal(['grep', 'earlier line', '--hub', hub.url]);
    expect(code).toBe(0);
    checkSafe(output);
    expect(output).toMatch(/^hostile:5: \S+ earlier linecleared\n$/);
  });

  it('runlog logs into a pipe prints no escape sequence at all', async () => {
    const { code, stdout } = await cli(['logs', 'hostile', '--hub', hub.url]);
    expect(code).toBe(0);
    expect(stdout).not.toContain('\x1b');
    expect(stdout.trimEnd().split('\n')).toEqual(SAFE.map((line) => line.replace(/\x1b\[[\d;]*m/g, '')));
  });

  it('runlog submit --wait prints the run\'s lines the same way', async () => {
    const submitted = onTerminal(['submit', '--wait', '10', '--hub', hub.url, '--', 'true']);
    // the test plays the worker: claims the task, reports the lines, ends it
    const claim = await waitFor(async () => {
      const response = await post('/api/tasks/claim', { worker_id: 'tty-worker' });
      return response.status === 200 ? ((await response.json()) as { run: { id: string }; writer_key: string }) : undefined;
    }, 20_000, 'the task');
    expect((await post(`/api/runs/${claim.run.id}/logs`, { records: records() }, claim.writer_key)).status).toBe(200);
    expect((await post(`/api/runs/${claim.run.id}/finish`, { status: 'completed', exit_code: 0 }, claim.writer_key)).status).toBe(200);
    const { code, output } = await submitted;
    expect(code).toBe(0);
    checkSafe(output);
    // its lines as they come, colours kept (as `runlog logs`), then the outcome on stderr (the same terminal)
    const lines = output.trimEnd().split('\n');
    expect(lines.slice(0, -1)).toEqual(SAFE);
    expect(lines.at(-1)).toMatch(/^runlog: run \S+ completed/);
  });
});
