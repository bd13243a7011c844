/**
 * Two ways stored text still reached the terminal as it was (README, "What runlog prints to your
 * terminal"):
 * - `--json` output: JSON.stringify escapes C0 controls but writes C1 controls raw, and U+009B is
 *   an 8-bit CSI to a terminal (`\u009b2J` erased the screen of `runlog logs --json`);
 * - a bidirectional override (U+202E) in a line, a run name or a worker's GPU name was applied by a
 *   terminal that does bidi: shown as `<U+202E>`, as the web UI does, it reorders nothing.
 * The bytes stay recoverable: the JSON still parses to the message as stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/server/listen.js';
import { cli, hubOn, tempDir } from './helpers.js';

const MESSAGE = 'erase\u009b2J screen, file user\u202egpj.exe, isolate \u2066x\u2069';
const NAME = 'job \u202eevil';
const RAW = /[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('stored controls in --json and in text output', () => {
  let hub: RunningHub;
  const post = (path: string, body: unknown) =>
    fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-runlog-writer': 'k' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    hub = await hubOn(tempDir());
    expect((await post('/api/runs', { id: 'ctl', name: NAME })).status).toBe(201);
    expect((await post('/api/runs/ctl/logs', { records: [{ seq: 1, timestamp: 1_700_000_000_000_000, level: 'INFO', message: MESSAGE }] })).status).toBe(200);
    const gpus = [{ index: 0, name: 'A100\u009b2J\u202e', memory_total_mb: 10, memory_used_mb: 1 }];
    expect((await post('/api/workers/w-ctl/heartbeat', { status: 'idle', gpus })).status).toBe(200);
  });
  afterAll(async () => hub.close());

  it('escapes C1 and bidi controls in --json, and the JSON parses to the text as stored', async () => {
    const logs = await cli(['logs', 'ctl', '--json', '--hub', hub.url]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).not.toMatch(RAW);
    expect((JSON.parse(logs.stdout) as { message: string }).message).toBe(MESSAGE);
    const runs = await cli(['runs', '--json', '--hub', hub.url]);
    expect(runs.stdout).not.toMatch(RAW);
    expect((JSON.parse(runs.stdout) as { name: string }[])[0]?.name).toBe(NAME);
    const workers = await cli(['workers', '--json', '--hub', hub.url]);
    expect(workers.stdout).not.toMatch(RAW);
    expect((JSON.parse(workers.stdout) as { gpus: { name: string }[] }[])[0]?.gpus[0]?.name).toBe('A100\u009b2J\u202e');
  });

  it('shows a bidi control as its code point in lines and tables', async () => {
    const logs = await cli(['logs', 'ctl', '--hub', hub.url]);
    expect(logs.stdout.trimEnd()).toBe('erase screen, file user<U+202E>gpj.exe, isolate <U+2066>x<U+2069>');
    const runs = await cli(['runs', '--hub', hub.url]);
    expect(runs.stdout).not.toMatch(RAW);
    expect(runs.stdout).toContain('job <U+202E>evil');
  });
});
