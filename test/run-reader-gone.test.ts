/**
 * `runlog run -- CMD | head`: the reader of runlog's stdout goes away while the command prints.
 * Before, the EPIPE made runlog exit 0 at once (as `runlog logs | head` does): the watchdog killed
 * the command, and the run stayed `running` (in the local store for good; on a hub until its lease
 * ran out, then "runner lost"). Now the command runs to its end, every line captured, and runlog
 * exits with the command's code.
 */
import { describe, expect, it } from 'vitest';
import { cliKilledAfterEach, tempDir } from './helpers.js';

const cli = cliKilledAfterEach();

describe('runlog run whose output reader goes away', () => {
  it('runs the command to its end, captures every line and exits with its code', async () => {
    const data = tempDir();
    const script = 'i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; echo last >&2; exit 3';
    const running = cli(['run', '--hub', 'none', '--data', data, '--id', 'head-1', '--', '/bin/sh', '-c', script]);
    // `| head -1`: the reader closes the pipe after its first read
    running.child.stdout?.once('data', () => running.child.stdout?.destroy());
    const result = await running;
    expect(result.code, result.stderr).toBe(3);
    const listed = await cli(['runs', '--hub', 'none', '--data', data, '--json']);
    const [run] = JSON.parse(listed.stdout) as { id: string; status: string; exit_code: number | null; line_count: number }[];
    expect(run).toMatchObject({ id: 'head-1', status: 'failed', exit_code: 3 });
    const logs = await cli(['logs', 'head-1', '--hub', 'none', '--data', data]);
    const lines = logs.stdout.split('\n');
    expect(lines.filter((line) => line.startsWith('line ')).length).toBe(20000);
    expect(lines).toContain('line 19999');
    expect(lines).toContain('last');
  });
});
