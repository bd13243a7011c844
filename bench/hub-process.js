/**
 * A hub in a child process (`bin/runlog server --port 0`), so the load a benchmark makes does not
 * share the hub's event loop; its CPU time is read from /proc.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir, removeDir } from './lib.js';

const CLI = fileURLToPath(new URL('../bin/runlog', import.meta.url));
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** the hub must say where it listens within this */
const START_MS = 15_000;

/**
 * `bin/runlog server --host 127.0.0.1 --port 0` over `dataDir` (default: a new temp dir, removed
 * on stop), resolved once it says where it listens. `extraArgs`: more flags (`--db postgres://…`).
 */
export async function startHubProcess(name, dataDir, extraArgs = []) {
  const data = dataDir ?? tempDir(name);
  return startHubOn(name, data, dataDir === undefined, extraArgs);
}

/** A hub process over `data`, removed on stop when `removeData`. */
async function startHubOn(name, data, removeData, extraArgs = []) {
  // no access log: the hub's stderr is the bench's terminal, kept for errors (a line per request would bury them)
  const args = [CLI, 'server', '--host', '127.0.0.1', '--port', '0', '--data', data, '--no-access-log', ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} bench: the hub did not start within ${START_MS} ms: ${output}`)), START_MS);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} bench: the hub exited (${code}): ${output}`));
    });
  });
  return {
    url,
    /** seconds of CPU (user + system) the hub has used so far */
    cpuSeconds() {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      if (removeData) removeDir(data);
    },
  };
}

/** A heartbeat as a worker sends it, carrying `lines` log lines numbered from `firstSeq`. */
export function heartbeatBody(lines, firstSeq) {
  const logs = [];
  for (let i = 0; i < lines; i++) {
    logs.push({
      seq: firstSeq + i,
      timestamp: Math.round((performance.timeOrigin + performance.now()) * 1000),
      level: 'INFO',
      message: `step ${firstSeq + i} loss=0.12345 lr=3.0e-04 grad_norm=1.2345 tokens/s=51234 gpu_mem=21.3GiB`,
      logger: 'runlog.worker',
    });
  }
  return {
    status: 'busy',
    current_task_id: 'task-1',
    vram_total_mb: 24_564,
    vram_used_mb: 21_000,
    gpus: [{ index: 0, name: 'NVIDIA RTX A5000', memory_total_mb: 24_564, memory_used_mb: 21_000, utilization_gpu: 97 }],
    heartbeat_interval_s: 20,
    logs,
  };
}
