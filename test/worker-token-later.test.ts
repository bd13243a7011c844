/**
 * The first token made on a running fleet: the hub then asks every request for one, and a worker
 * started without it gets 401 for each heartbeat. Its lines used to be dropped with each refused
 * heartbeat; they wait in its spool, and the worker restarted with a token sends them.
 */
import { afterEach, expect, it } from 'vitest';
import { newTokenSecret, sha256 } from '../src/server/auth/tokens.js';
import type { SystemLog } from '../src/store/store.js';
import { cli, hubOn, tempDir, waitFor, type CliResult } from './helpers.js';

const started: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];
afterEach(() => {
  for (const worker of started.splice(0)) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
});

it("keeps a worker's lines while the hub refuses its heartbeats for want of a token, and delivers them once it has one", async () => {
  const hub = await hubOn(tempDir());
  try {
    const data = tempDir();
    const start = (env: NodeJS.ProcessEnv = {}) => {
      const worker = cli(['worker', '--id', 'w-token-later', '--hub', hub.url, '--heartbeat', '1', '--poll', '200ms', '--data', data], env);
      started.push(worker);
      return worker;
    };
    const secret = newTokenSecret();
    const lines = async () => {
      const response = await fetch(`${hub.url}/api/logs?source_id=w-token-later&limit=10000`, { headers: { authorization: `Bearer ${secret}` } });
      return response.ok ? ((await response.json()) as { logs: SystemLog[] }).logs.map((line) => line.message) : [];
    };
    const first = start();
    await waitFor(async () => ((await lines()).length > 0 ? true : undefined), 20_000, "the worker's first lines");
    await hub.store.createToken({ name: 'fleet', hash: sha256(secret), scopes: ['admin'], worker_id: null, expires_at: null, created_by: null });
    // refused from now on: the worker says so in its own log (a line of the heartbeats refused)
    let stderr = '';
    first.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // the line looked for below: a heartbeat's own 401 may be said first (CI, loaded), and a worker
    // stopped then never asked for a task with no token, so never said this one
    await waitFor(() => (/refuses to give this worker tasks \(401/.test(stderr) ? true : undefined), 20_000, 'a refused claim');
    first.child.kill('SIGTERM');
    await first;
    const restarted = start({ RUNLOG_TOKEN: secret });
    // what the first life logged once refused (the refusal, its stop) went out in refused heartbeats
    await waitFor(async () => ((await lines()).some((line) => /refuses to give this worker tasks \(401/.test(line)) ? true : undefined), 30_000, 'the lines of the refused heartbeats');
    expect(await lines()).toContain('SIGTERM: no task running');
    restarted.child.kill('SIGTERM');
    await restarted;
    const stored = await fetch(`${hub.url}/api/logs?source_id=w-token-later&limit=10000`, { headers: { authorization: `Bearer ${secret}` } });
    const seqs = ((await stored.json()) as { logs: SystemLog[] }).logs.map((line) => line.seq);
    expect(new Set(seqs).size).toBe(seqs.length); // each line once
  } finally {
    await hub.close();
  }
});
