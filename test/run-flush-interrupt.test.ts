/**
 * Ctrl-C while `runlog run` waits, after its command ended, for a hub that went away
 * (`--flush-timeout`): before, the signal was passed to a command that no longer ran and the wait
 * went on to its end (10 s by default, however long `--flush-timeout` said). Now it stops the
 * wait: runlog exits with the command's code, the run keeps its real end, and what the hub lacks
 * waits in the WAL for `runlog sync`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliKilledAfterEach, hubOn, tempDir, waitFor } from './helpers.js';

const cli = cliKilledAfterEach();

describe('runlog run, interrupted while it waits for an absent hub at the end', () => {
  it('stops waiting, exits with the command code and keeps the real end in the WAL', async () => {
    const hub = await hubOn(tempDir());
    const data = tempDir();
    // the command waits for the hub to be gone before it ends
    const gone = join(data, 'hub-gone');
    const script = `echo first; while [ ! -e ${gone} ]; do sleep 0.05; done; echo last; exit 4`;
    const running = cli(['run', '--hub', hub.url, '--data', data, '--id', 'flush-int', '--flush-timeout', '1h', '--', '/bin/sh', '-c', script]);
    let stdout = '';
    running.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(() => stdout.includes('first') || undefined, 20_000, 'the first line');
    await hub.close();
    writeFileSync(gone, '');
    // the command has ended once its end is in the WAL's metadata: the runner now waits for the hub
    const meta = join(data, 'wal', 'flush-int.json');
    await waitFor(() => (existsSync(meta) && JSON.parse(readFileSync(meta, 'utf8')).end !== undefined) || undefined, 20_000, 'the end in the WAL');
    running.child.kill('SIGINT');
    const result = await running;
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toContain('waits in');
    const end = (JSON.parse(readFileSync(meta, 'utf8')) as { end: { body: { status: string; exit_code: number } } }).end;
    expect(end.body).toMatchObject({ status: 'failed', exit_code: 4 });
  }, 30_000);
});
