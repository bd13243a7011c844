/**
 * The Python client (clients/python, package `runlog`) with Debian's /usr/bin/python3 against a
 * real hub: logging, loguru, runlog.run, the seed's worker with a stand-in nvidia-smi, the hub away
 * for a while, a process killed mid-run, no hub at all. Skips, saying why, without python3 or
 * loguru; fails instead in strict mode (RUNLOG_TEST_STRICT=1). The harness: python-harness.ts; SIGTERM: python-sigterm.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WireRecord } from '../src/core/record.js';
import type { Run, SystemLog, Worker } from '../src/store/store.js';
import { databaseFile } from '../src/core/config.js';
import { newTokenSecret, sha256 } from '../src/server/auth/tokens.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { FIXTURES, getJson, PYTHON, tempDir, waitFor } from './helpers.js';
import { CLIENT, ended, freePort, hubs, missing, newHub, noLoguru, noPython, python, pythonCode, range, run, runLeftInSpool, runLines, workerLines } from './python-harness.js';


describe.skipIf(noPython !== undefined)('the Python client: runlog.Handler', () => {
  it('ships logging lines with their levels, logger and task id; an exception is one record that keeps its lines', async () => {
    const hub = await newHub();
    const program = python('logging_program.py', ['ok'], { RUNLOG_HUB: hub.url });
    const [runId] = await program.lines(1);
    expect((await program.done).code).toBe(0);
    const finished = await ended(hub.url, runId!);
    expect(finished).toMatchObject({ status: 'completed', name: 'logging_program.py' });
    const lines = await runLines(hub.url, runId!);
    expect(lines.map((l) => [l.seq, l.level, l.message.split('\n')[0], l.logger, l.source])).toEqual([
      [1, 'DEBUG', 'debug line', 'train.loop', 'sdk'],
      [2, 'INFO', 'step 1 of 3', 'train.loop', 'sdk'],
      [3, 'WARNING', "slow step: {'ms': 812}", 'train.loop', 'sdk'],
      [4, 'ERROR', 'error line', 'train.loop', 'sdk'],
      [5, 'CRITICAL', 'critical line', 'train.loop', 'sdk'],
      [6, 'INFO', 'level 25 rounds down', 'root', 'sdk'],
      [7, 'INFO', 'carries a task', 'train.loop', 'sdk'],
      [8, 'ERROR', 'lookup failed', 'train.loop', 'sdk'],
    ]);
    expect(lines[6]?.task_id).toBe('task-7');
    const exception = lines[7]!.message.split('\n');
    expect(exception[1]).toBe('Traceback (most recent call last):');
    expect(exception.at(-1)).toBe("KeyError: 'missing'");
  });

  it('fails the run of a program that dies of an uncaught exception, with its cause, and still exits as Python would', async () => {
    const hub = await newHub();
    const program = python('logging_program.py', ['crash'], { RUNLOG_HUB: hub.url });
    const [runId] = await program.lines(1);
    const result = await program.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ValueError: bad input 42'); // the chained excepthook printed it
    expect(await ended(hub.url, runId!)).toMatchObject({ status: 'failed', error_message: 'ValueError: bad input 42' });
    const last = (await runLines(hub.url, runId!)).at(-1)!;
    expect(last.level).toBe('ERROR');
    expect(last.message.split('\n').at(-1)).toBe('ValueError: bad input 42');
  });

  it('loses nothing when the hub comes up only after the program started', async () => {
    const port = await freePort();
    const program = python('paced_program.py', ['60', '0.05'], { RUNLOG_HUB: `http://127.0.0.1:${port}` });
    const [runId] = await program.lines(1);
    await new Promise((r) => setTimeout(r, 1000));
    const hub = await newHub(tempDir(), port);
    expect((await program.done).code).toBe(0);
    expect((await ended(hub.url, runId!)).status).toBe('completed');
    expect((await runLines(hub.url, runId!)).map((l) => l.message)).toEqual(range(1, 60).map((n) => `paced ${n}`));
  });

  it('loses nothing, and stores nothing twice, when the hub is away for 30 s mid-run and comes back on the same port and data', async () => {
    const dataDir = tempDir();
    let hub = await newHub(dataDir);
    const port = Number(new URL(hub.url).port);
    const program = python('paced_program.py', ['800', '0.05'], { RUNLOG_HUB: hub.url }); // 40 s of lines
    const [runId] = await program.lines(1);
    await waitFor(async () => (await runLines(hub.url, runId!)).length >= 10 || undefined, 20_000, 'lines before the outage');
    await hub.close();
    hubs.length = 0;
    await new Promise((r) => setTimeout(r, 30_000));
    hub = await newHub(dataDir, port);
    expect((await program.done).code).toBe(0);
    expect((await ended(hub.url, runId!)).status).toBe('completed');
    const lines = await runLines(hub.url, runId!);
    expect(lines.map((l) => l.message)).toEqual(range(1, 800).map((n) => `paced ${n}`));
    expect(lines.map((l) => l.seq)).toEqual(range(1, 800));
  }, 120_000);

  it('delivers, from the next program that starts, the lines and end a program left in the spool when the hub was away at its exit', async () => {
    const { spool, hub, leftId } = await runLeftInSpool();
    const later = python('paced_program.py', ['3', '0.01'], { RUNLOG_HUB: hub.url, RUNLOG_SPOOL: spool });
    expect((await later.done).code).toBe(0);
    expect(await ended(hub.url, leftId)).toMatchObject({ status: 'completed', name: 'logging_program.py' });
    expect(await runLines(hub.url, leftId)).toHaveLength(8);
  });

  it('keeps on disk the lines of a run it names whose hub is away at the start; killed, the next program delivers them, numbered', async () => {
    const spool = tempDir('runlog-spool-');
    const port = await freePort();
    const away = python('paced_program.py', ['100000', '0.02'], { RUNLOG_HUB: `http://127.0.0.1:${port}`, RUNLOG_SPOOL: spool, RUN_ID: 'named-away' });
    await away.lines(1);
    await new Promise((r) => setTimeout(r, 2000));
    away.child.kill('SIGKILL');
    expect((await away.done).signal).toBe('SIGKILL');
    const hub = await newHub(tempDir(), port);
    const later = python('paced_program.py', ['3', '0.01'], { RUNLOG_HUB: hub.url, RUNLOG_SPOOL: spool });
    expect((await later.done).code).toBe(0);
    const lines = await waitFor(async () => {
      const got = await runLines(hub.url, 'named-away');
      return got.length > 0 ? got : undefined;
    }, 20_000, 'the left lines of named-away');
    expect(lines.length).toBeGreaterThanOrEqual(20); // all but the last 0.2 s of 2 s of lines at 50 a second
    expect(lines.map((l) => l.message)).toEqual(range(1, lines.length).map((n) => `paced ${n}`));
    expect(lines.map((l) => l.seq)).toEqual(range(1, lines.length));
    expect((await run(hub.url, 'named-away')).lease_s).toBe(10); // created with a lease: failed by the hub, not left running
  });

  it('keeps what was delivered of a process killed mid-run (SIGKILL): a gapless prefix, the run left to its lease', async () => {
    const hub = await newHub();
    const program = python('paced_program.py', ['100000', '0.01'], { RUNLOG_HUB: hub.url });
    const [runId] = await program.lines(1);
    await waitFor(async () => (await runLines(hub.url, runId!)).length >= 50 || undefined, 20_000, '50 lines delivered');
    program.child.kill('SIGKILL');
    expect((await program.done).signal).toBe('SIGKILL');
    const lines = await runLines(hub.url, runId!);
    expect(lines.length).toBeGreaterThanOrEqual(50);
    expect(lines.map((l) => l.message)).toEqual(range(1, lines.length).map((n) => `paced ${n}`));
    expect((await run(hub.url, runId!)).status).toBe('running'); // no end was sent: the hub's lease fails it
  });

  it('renews the run’s lease while the program lives, so the hub fails its run only once it is killed', async () => {
    const hub = await newHub();
    // one line, then silence: only the renewals say it is alive
    const program = python('paced_program.py', ['1000', '8'], { RUNLOG_HUB: hub.url, LEASE_S: '1' });
    const [runId] = await program.lines(1);
    await waitFor(async () => (await runLines(hub.url, runId!)).length === 1 || undefined, 20_000, 'the first line');
    await new Promise((r) => setTimeout(r, 5000)); // 5 leases
    expect((await run(hub.url, runId!)).status).toBe('running');
    program.child.kill('SIGKILL');
    const lost = await waitFor(async () => {
      const now = await run(hub.url, runId!);
      return now.status === 'failed' ? now : undefined;
    }, 30_000, 'the hub to fail the run of the killed program');
    expect(lost.error_message).toMatch(/^runner lost \(last heard /);
  }, 60_000);

  it('hears a cancel request in its lease renewal: on_cancel is called, and the run ends cancelled', async () => {
    const hub = await newHub();
    const program = python('paced_program.py', ['100000', '0.02'], { RUNLOG_HUB: hub.url, LEASE_S: '1' });
    const [runId] = await program.lines(1);
    await waitFor(async () => (await runLines(hub.url, runId!)).length >= 5 || undefined, 20_000, 'lines');
    const cancel = await fetch(`${hub.url}/api/runs/${runId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(cancel.status).toBe(200);
    const result = await program.done;
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('cancelled');
    expect(await ended(hub.url, runId!)).toMatchObject({ status: 'cancelled', error_message: expect.stringMatching(/^cancelled by /) });
  });

  it('keeps every line of a run whose name or labels the hub refuses: the run is created without what it refused, said once on stderr', async () => {
    const hub = await newHub();
    const program = pythonCode([
      'import logging, runlog',
      'handler = runlog.Handler(name="n" * 300, labels={"team": "t" * 300, "gpu": "a100", "epochs": 3})',
      'print(handler.run_id, flush=True)',
      'log = logging.getLogger("refused")',
      'log.setLevel(logging.INFO)',
      'log.addHandler(handler)',
      'for n in range(1, 6): log.info("line %d", n)',
    ], { RUNLOG_HUB: hub.url });
    const [runId] = await program.lines(1);
    const result = await program.done;
    expect(result.code).toBe(0);
    expect(await ended(hub.url, runId!)).toMatchObject({ status: 'completed', name: 'n'.repeat(256), labels: { gpu: 'a100', epochs: '3' } });
    expect((await runLines(hub.url, runId!)).map((l) => [l.seq, l.message])).toEqual(range(1, 5).map((n) => [n, `line ${n}`]));
    expect(result.stderr).not.toContain('Traceback');
    const warnings = result.stderr.match(/^runlog: .*$/gm) ?? [];
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(runId);
    expect(warnings[0]).toMatch(/name: longer than 256 bytes \(name cut to 256 bytes\)/);
    expect(warnings[0]).toMatch(/labels\.team: longer than 256 bytes \(label team left out\)/);
    expect(warnings[0]).toMatch(/labels\.epochs: expected a string \(label epochs sent as text\)/);
  });

  it('never raises into the program, nor holds it up long, when there is no hub at all', async () => {
    const port = await freePort();
    const program = python('logging_program.py', ['ok'], { RUNLOG_HUB: `http://127.0.0.1:${port}` });
    const result = await program.done;
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('Traceback');
    expect(result.stderr).toMatch(/^runlog: hub .* away at exit: run r-\S+'s last lines and its end wait in /m);
  });
});

describe.skipIf(noPython !== undefined)('the Python client: its token', () => {
  /** A stand-in hub that answers every write and records who asked. */
  async function recordingHub(): Promise<{ url: string; requests: { path: string; headers: IncomingMessage['headers'] }[]; close(): void }> {
    const requests: { path: string; headers: IncomingMessage['headers'] }[] = [];
    const server = createHttpServer((request, response) => {
      request.resume();
      request.on('end', () => {
        requests.push({ path: `${request.method} ${request.url}`, headers: request.headers });
        const created = request.url === '/api/runs';
        response.writeHead(request.url?.endsWith('/lease') ? 404 : created ? 201 : 200, { 'content-type': 'application/json' });
        response.end(created ? '{}' : '{"success":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => server.close() };
  }

  it('sends the token from RUNLOG_TOKEN_FILE or RUNLOG_TOKEN as a bearer on every request, and the writer key of the run on its writes, never printing the token', async () => {
    const hub = await recordingHub();
    try {
      const tokenFile = join(tempDir(), 'token');
      writeFileSync(tokenFile, 'file-s3cret\n', { mode: 0o600 });
      const handler = await python('logging_program.py', ['crash'], { RUNLOG_HUB: hub.url, RUNLOG_TOKEN_FILE: tokenFile }).done;
      const worker = await python('worker_program.py', ['tok-w', '4'], { RUNLOG_HUB: hub.url, RUNLOG_TOKEN: 'env-s3cret', HEARTBEAT_INTERVAL: '0.2' }).done;
      for (const output of [handler.stdout, handler.stderr, worker.stdout, worker.stderr]) expect(output).not.toMatch(/s3cret/);
      const runWrites = hub.requests.filter((r) => r.path.startsWith('POST /api/runs'));
      expect(runWrites.map((r) => r.path.replace(/r-[\w-]+/, 'ID'))).toEqual(expect.arrayContaining(['POST /api/runs', 'POST /api/runs/ID/logs', 'POST /api/runs/ID/finish']));
      expect(new Set(runWrites.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer file-s3cret']));
      const writers = new Set(runWrites.map((r) => r.headers['x-runlog-writer']));
      expect(writers.size).toBe(1);
      expect([...writers][0]).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const beats = hub.requests.filter((r) => r.path === 'POST /api/workers/tok-w/heartbeat');
      expect(beats.length).toBeGreaterThan(0);
      expect(new Set(beats.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer env-s3cret']));
    } finally {
      hub.close();
    }
  });
});

describe.skipIf(noPython !== undefined)('the Python client against a hub with tokens', () => {
  it('writes its run with a write token and heartbeats with a worker token; a wrong token is said on stderr once, never raised', async () => {
    const dataDir = tempDir();
    const store = new SqliteStore(databaseFile(dataDir));
    const writer = newTokenSecret();
    const worker = newTokenSecret();
    await store.createToken({ name: 'py-writer', hash: sha256(writer), scopes: ['write', 'read'], worker_id: null, expires_at: null, created_by: null });
    await store.createToken({ name: 'py-worker', hash: sha256(worker), scopes: ['worker'], worker_id: 'tok-w', expires_at: null, created_by: null });
    await store.close();
    const hub = await newHub(dataDir);
    const read = (path: string) => fetch(`${hub.url}${path}`, { headers: { authorization: `Bearer ${writer}` } }).then((r) => r.json());

    const program = python('logging_program.py', ['ok'], { RUNLOG_HUB: hub.url, RUNLOG_TOKEN: writer });
    const [runId] = await program.lines(1);
    expect((await program.done).code).toBe(0);
    expect(((await read(`/api/runs/${runId}`)) as Run).status).toBe('completed');
    expect(((await read(`/api/runs/${runId}/logs`)) as { logs: WireRecord[] }).logs).toHaveLength(8);

    expect((await python('worker_program.py', ['tok-w', '4'], { RUNLOG_HUB: hub.url, RUNLOG_TOKEN: worker, HEARTBEAT_INTERVAL: '0.2' }).done).code).toBe(0);
    expect(((await read('/api/logs?source_id=tok-w')) as { logs: SystemLog[] }).logs).toHaveLength(5);

    // a run the hub will not have: its lines are kept on disk, one record a line, and nothing will send them again
    const spool = tempDir('runlog-spool-');
    const refusedProgram = python('logging_program.py', ['ok'], { RUNLOG_HUB: hub.url, RUNLOG_TOKEN: 'not-a-token', RUNLOG_SPOOL: spool });
    const [refusedId] = await refusedProgram.lines(1);
    const refused = await refusedProgram.done;
    expect(refused.code).toBe(0);
    expect(refused.stderr.match(/^runlog: /gm)).toHaveLength(1);
    const kept = join(spool, 'refused', `${refusedId}.jsonl`);
    expect(refused.stderr).toContain(`run ${refusedId} cannot be written (hub answered 401: `);
    expect(refused.stderr).toContain(`its lines are kept in ${kept}`);
    expect(refused.stderr).not.toContain('not-a-token');
    const records = readFileSync(kept, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as WireRecord);
    expect(records.map((r) => [r.seq, r.level, r.message.split('\n')[0]])).toEqual([
      [1, 'DEBUG', 'debug line'], [2, 'INFO', 'step 1 of 3'], [3, 'WARNING', "slow step: {'ms': 812}"], [4, 'ERROR', 'error line'],
      [5, 'CRITICAL', 'critical line'], [6, 'INFO', 'level 25 rounds down'], [7, 'INFO', 'carries a task'], [8, 'ERROR', 'lookup failed'],
    ]);
    expect(existsSync(join(spool, 'runs', refusedId!))).toBe(false); // nothing left for the next program to try
  });
});

describe.skipIf(noPython !== undefined)('the Python client: installing it', () => {
  // the build backend is the package's own (clients/python/_build): pip alone builds it
  const noPip = noPython ?? missing('pip for /usr/bin/python3 (python3-pip)', () => spawnSync(PYTHON, ['-c', 'import pip']).status === 0);

  it.skipIf(noPip !== undefined)('installs with pip, offline, from clients/python, as the README says', () => {
    const source = join(tempDir(), 'python'); // a copy: pip builds in the source tree
    cpSync(CLIENT, source, { recursive: true });
    const target = tempDir('runlog-pip-');
    const pip = spawnSync(PYTHON, ['-m', 'pip', 'install', '--no-build-isolation', '--no-index', '--no-deps', '--quiet', '--target', target, source], { encoding: 'utf8' });
    expect(pip.status, pip.stderr).toBe(0);
    const imported = spawnSync(PYTHON, ['-c', 'import runlog, sys; print(runlog.__version__, runlog.__file__)'], { cwd: tempDir(), env: { ...process.env, PYTHONPATH: target }, encoding: 'utf8' });
    expect(imported.stdout).toContain(`0.1.0 ${target}`);
  }, 60_000);
});

describe.skipIf(noLoguru !== undefined)('the Python client with loguru', () => {
  it('takes loguru records through loguru_sink and through a Handler: levels, task id, the exception as one record', async () => {
    const hub = await newHub();
    const program = python('loguru_program.py', [], { RUNLOG_HUB: hub.url });
    const [ids] = await program.lines(1);
    expect((await program.done).code).toBe(0);
    for (const runId of ids!.split(' ')) {
      await ended(hub.url, runId);
      const lines = await runLines(hub.url, runId);
      expect(lines.map((l) => [l.level, l.message.split('\n')[0]])).toEqual([
        ['DEBUG', 'trace line'],
        ['INFO', 'it worked 42'],
        ['WARNING', 'with a task'],
        ['ERROR', 'division failed'],
      ]);
      expect(lines[2]?.task_id).toBe('task-9');
      expect(lines[3]!.message).toContain('Traceback (most recent call last):');
      expect(lines[3]!.message.split('\n').at(-1)).toBe('ZeroDivisionError: division by zero');
    }
  });
});

describe.skipIf(noPython !== undefined)('the Python client: runlog.run', () => {
  it('makes a block or a decorated call a run of its own, ended with its outcome', async () => {
    const hub = await newHub();
    const program = python('run_block_program.py', [], { RUNLOG_HUB: hub.url });
    const [okId, failingId, exit0Id, exit3Id] = await program.lines(4);
    expect((await program.done).code).toBe(0);
    expect(await ended(hub.url, okId!)).toMatchObject({ status: 'completed', name: 'block-ok' });
    expect((await runLines(hub.url, okId!)).map((l) => l.message)).toEqual(['inside the block']);
    expect(await ended(hub.url, failingId!)).toMatchObject({ status: 'failed', error_message: 'RuntimeError: out of memory on GPU 0' });
    const failingLines = await runLines(hub.url, failingId!);
    expect(failingLines[0]?.message).toBe('about to fail');
    expect(failingLines[1]?.message.split('\n').at(-1)).toBe('RuntimeError: out of memory on GPU 0');
    // sys.exit() inside the block ends the run as the process would end: 0 is a clean end
    expect(await ended(hub.url, exit0Id!)).toMatchObject({ status: 'completed', name: 'block-exits-0' });
    expect(await ended(hub.url, exit3Id!)).toMatchObject({ status: 'failed', exit_code: 3, error_message: 'exit code 3' });
    expect((await runLines(hub.url, exit0Id!)).map((l) => l.message)).toEqual(['exiting with 0']);
    const decorated = (await getJson<{ runs: Run[] }>(`${hub.url}/api/runs?q=decorated`)).body.runs;
    expect(decorated.map((r) => r.status)).toEqual(['completed', 'completed']);
    const jobs = await Promise.all(decorated.map(async (r) => (await runLines(hub.url, r.id)).map((l) => l.message)));
    expect(jobs.flat().sort()).toEqual(['job 1', 'job 2']);
  });
});

describe.skipIf(noPython !== undefined)('the Python client: runlog.Worker', () => {
  const gpuEnv = () => {
    const capture = join(tempDir(), 'gpus.csv');
    writeFileSync(capture, '0, GPU-aaaa, NVIDIA A100-SXM4-40GB, 12, 40960, 1234, 40, 60.5\n1, GPU-bbbb, NVIDIA A100-SXM4-40GB, 0, 40960, 100, 35, 50\n');
    // the stand-in nvidia-smi first on PATH (it is a node script: node stays on PATH)
    return { PATH: `${FIXTURES}:${process.env.PATH ?? ''}`, FAKE_NVIDIA_SMI_CAPTURE: capture };
  };

  it('heartbeats with its lines, VRAM from nvidia-smi, its task; the buffer flushes when full and says so in its stats', async () => {
    const hub = await newHub();
    const gate = join(tempDir(), 'gate');
    const program = python('worker_program.py', ['py-w1', '20'], { RUNLOG_HUB: hub.url, HEARTBEAT_INTERVAL: '0.3', LOG_BUFFER_SIZE: '4', GATE: gate, ...gpuEnv() });
    const busy = await waitFor(async () => {
      const { status, body } = await getJson<Worker>(`${hub.url}/api/workers/py-w1`);
      return status === 200 && body.current_task_id === 'task-42' ? body : undefined;
    }, 20_000, 'a heartbeat while busy');
    writeFileSync(gate, ''); // the task may end now
    // it beats every 0.3 s and says 1 s, the hub's lower bound (issue 8)
    expect(busy).toMatchObject({ state: 'busy', vram_total_mb: 81920, vram_used_mb: 1334, heartbeat_interval_s: 1 });
    expect(busy.gpus).toHaveLength(2);
    const result = await program.done;
    expect(result.code).toBe(0);
    const { stats, max_size: maxSize } = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { stats: Record<string, number>; max_size: number };
    expect(maxSize).toBe(4);
    expect(stats.total_logs_buffered).toBe(21);
    expect(stats.total_flushes).toBeGreaterThanOrEqual(5); // 21 lines in a buffer of 4: at least 5 flushed full
    expect(stats.current_buffer_size).toBeLessThan(4);
    const lines = await workerLines(hub.url, 'py-w1');
    expect(lines.map((l) => l.message)).toEqual(['worker up', ...range(1, 10).map((n) => `task line ${n}`), ...range(11, 20).map((n) => `idle line ${n}`)]);
    expect(lines.map((l) => l.task_id)).toEqual([null, ...Array(10).fill('task-42'), ...Array(10).fill(null)]);
    expect(lines[1]?.metadata).toMatchObject({ module: 'worker_program', funcName: '<module>', logger: 'runlog.worker.py-w1' });
    expect(lines.at(-1)?.level).toBe('WARNING');
    expect((await getJson<Worker>(`${hub.url}/api/workers/py-w1`)).body.status).toBe('offline');
  });

  it('delivers the runs a Handler left in the spool when its hub was away at exit, even when it is the only part of the client in use', async () => {
    const { spool, hub, leftId } = await runLeftInSpool();
    const worker = python('worker_program.py', ['py-w-left', '4'], { RUNLOG_HUB: hub.url, RUNLOG_SPOOL: spool, HEARTBEAT_INTERVAL: '0.3', ...gpuEnv() });
    expect((await worker.done).code).toBe(0);
    expect(await ended(hub.url, leftId)).toMatchObject({ status: 'completed', name: 'logging_program.py' });
    expect(await runLines(hub.url, leftId)).toHaveLength(8);
  });

  it('has the seed’s LogBuffer: max_size from LOG_BUFFER_SIZE, an automatic flush when full, its stats, seqs in the order added', () => {
    const script = [
      'import json, runlog',
      'flushed = []',
      'buffer = runlog.LogBuffer(on_full=flushed.append)',
      'for n in range(7): buffer.add({"message": "m%d" % n})',
      'bounded = runlog.LogBuffer(max_size=2)',
      'for n in range(5): bounded.add({"message": "b%d" % n})',
      'print(json.dumps({"max_size": buffer.max_size, "flushed": [[e["seq"] for e in b] for b in flushed], "stats": buffer.get_stats(),',
      '  "rest": [e["seq"] for e in buffer.flush()], "after": buffer.get_stats(), "bounded": [e["message"] for e in bounded.flush()], "dropped": bounded.dropped}))',
    ].join('\n');
    const result = spawnSync(PYTHON, ['-c', script], { env: { ...process.env, PYTHONPATH: CLIENT, LOG_BUFFER_SIZE: '3' }, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      max_size: 3,
      flushed: [[1, 2, 3], [4, 5, 6]],
      stats: { current_buffer_size: 1, total_logs_buffered: 7, total_flushes: 2 },
      rest: [7],
      after: { current_buffer_size: 0, total_logs_buffered: 7, total_flushes: 3 },
      bounded: ['b3', 'b4'],
      dropped: 3,
    });
  });

  it('keeps every line of a worker restarted under the same id, each life numbering from 1; the last ones sent at exit without stop()', async () => {
    const hub = await newHub();
    for (let life = 0; life < 2; life++) {
      const program = python('worker_program.py', ['py-reborn', '6'], { RUNLOG_HUB: hub.url, HEARTBEAT_INTERVAL: '0.2', NO_STOP: '1' });
      expect((await program.done).code).toBe(0);
    }
    const lines = await workerLines(hub.url, 'py-reborn');
    expect(lines.map((l) => l.seq)).toEqual(range(1, 14));
    expect(lines.filter((l) => l.message === 'worker up')).toHaveLength(2);
    expect(lines.filter((l) => l.message === 'idle line 6')).toHaveLength(2); // logged just before exit
    expect((await getJson<Worker>(`${hub.url}/api/workers/py-reborn`)).body.status).toBe('offline');
  });

  it('spools its heartbeats while the hub is away and delivers every line once when it is back', async () => {
    const port = await freePort();
    const program = python('worker_program.py', ['py-away', '40', '0.1'], { RUNLOG_HUB: `http://127.0.0.1:${port}`, HEARTBEAT_INTERVAL: '0.2', LOG_BUFFER_SIZE: '7' });
    await new Promise((r) => setTimeout(r, 1500));
    const hub = await newHub(tempDir(), port);
    expect((await program.done).code).toBe(0);
    const lines = await workerLines(hub.url, 'py-away');
    expect(lines.map((l) => l.message)).toEqual(['worker up', ...range(1, 20).map((n) => `task line ${n}`), ...range(21, 40).map((n) => `idle line ${n}`)]);
    expect(lines.map((l) => l.seq)).toEqual(range(1, 41));
  });
});
