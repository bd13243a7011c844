/**
 * Issue 9, "a line read is a line kept": `runlog run` SIGKILLed at seeded random moments, with the
 * hub up, down, or going down and coming back in between; then `runlog sync`. Real processes, real
 * signals, a real hub restarted on the same port.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { Run } from '../src/store/store.js';
import { cli, FIXTURES, getJson, hubOn, PYTHON, tempDir, waitFor } from './helpers.js';
import { isGone, mulberry32 } from './processes.js';
import type { RunningHub } from '../src/server/listen.js';

const KILL_POINTS = 20;
const LINES_PER_RUN = 10_000; // 20 × 10,000 = the 200k-line job, cut at 20 moments
// the job's lines are spread over this long, so a kill at 50–950 ms falls mid-run even on a fast,
// idle machine (at full speed 10,000 lines take ~10 ms and most kills would come after the end)
const SPREAD_SECONDS = 1.5;
const SEED = Number(process.env.RUNLOG_TEST_SEED ?? 9);

let hub: RunningHub | undefined;
afterAll(async () => {
  await hub?.close();
});

/** The messages of a run's log file (`<ISO> [LEVEL] message`), in order. */
function logFileMessages(path: string): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(line.indexOf('] ') + 2));
}

async function hubLines(url: string, id: string): Promise<WireRecord[]> {
  const all: WireRecord[] = [];
  for (let after = 0; ; ) {
    const { body } = await getJson<{ logs: WireRecord[] }>(`${url}/api/runs/${id}/logs?after=${after}&limit=10000`);
    all.push(...body.logs);
    if (body.logs.length < 10_000) return all;
    after = body.logs.at(-1)!.seq;
  }
}

describe('runlog run killed with SIGKILL (issue 9)', () => {
  it('after runlog sync the hub has every line of the log file, each once, in order, and no command is left running', async () => {
    const random = mulberry32(SEED);
    const hubData = tempDir('runlog-kill-hub-');
    const data = tempDir('runlog-kill-');
    hub = await hubOn(hubData);
    const port = Number(new URL(hub.url).port);
    const url = hub.url;
    const setHub = async (up: boolean) => {
      if (up && !hub) hub = await hubOn(hubData, port);
      if (!up && hub) {
        await hub.close();
        hub = undefined;
      }
    };
    const ids: string[] = [];
    for (let point = 0; point < KILL_POINTS; point++) {
      const id = `kill-${point}`;
      ids.push(id);
      const pidFile = join(data, `${id}.pid`);
      writeFileSync(pidFile, '');
      // the hub: up all along, down all along, or switched once while the run prints
      const scenario = ['up', 'down', 'restarted', 'went away'][Math.floor(random() * 4)]!;
      await setHub(scenario === 'up' || scenario === 'went away');
      const running = cli(['run', '--quiet', '--hub', url, '--data', data, '--id', id, '--', '/bin/sh', '-c', `echo $$ > ${pidFile}; exec ${PYTHON} ${join(FIXTURES, 'many_lines.py')} ${LINES_PER_RUN} ${SPREAD_SECONDS}`]);
      await waitFor(() => readFileSync(pidFile, 'utf8').trim() || undefined, 10_000, 'the command to start');
      const killAt = 50 + random() * 900;
      if (scenario === 'restarted' || scenario === 'went away') {
        await new Promise((resolve) => setTimeout(resolve, killAt / 2));
        await setHub(scenario === 'restarted');
        await new Promise((resolve) => setTimeout(resolve, killAt / 2));
      } else await new Promise((resolve) => setTimeout(resolve, killAt));
      running.child.kill('SIGKILL');
      await running;
      const commandPid = Number(readFileSync(pidFile, 'utf8').trim());
      // the command (a shell exec'd into python) dies with its runner: no orphan
      await waitFor(() => isGone(commandPid), 3000, `command ${commandPid} of ${id} to be killed with its runner`);
    }

    await setHub(true);
    const sync = await cli(['sync', '--data', data, '--hub', url]);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/sent \d+ runs, \d+ lines|nothing to send/);

    const outcomes: string[] = [];
    for (const id of ids) {
      const file = logFileMessages(join(data, 'logs', `${id}.log`));
      const stored = await hubLines(url, id);
      const messages = stored.map((line) => line.message);
      // each once, in order: seqs 1..n with no gap and no repeat
      expect(stored.map((line) => line.seq)).toEqual(stored.map((_, i) => i + 1));
      // every line of the log file is on the hub, in the same order; the WAL is written before
      // the log file, so the hub may hold a last few lines the file had not flushed yet
      expect(messages.slice(0, file.length)).toEqual(file);
      const printed = messages.filter((message) => message.startsWith('line '));
      expect(printed).toEqual(printed.map((_, i) => `line ${String(i + 1).padStart(8, '0')} ${'x'.repeat(60)}`));
      const run = (await getJson<Run>(`${url}/api/runs/${id}`)).body;
      if (run.status !== 'completed') expect(run.error_message).toMatch(/^runner lost/);
      outcomes.push(`${run.status}:${file.length}/${stored.length}`);
    }
    // the kill points fall mid-run (not all after the end), or the test would prove little
    expect(outcomes.filter((outcome) => outcome.startsWith('failed')).length).toBeGreaterThan(KILL_POINTS / 4);
    if (process.env.RUNLOG_TEST_VERBOSE) console.log(outcomes.join(' '));
    // nothing left to send
    const again = await cli(['sync', '--data', data, '--hub', url]);
    expect(again.stdout).toContain('nothing to send');
  }, 240_000);
});
