/**
 * A worker's record of the process group its task's command runs in, `<data>/worker-<id>.pids`
 * (`<pgid> <run id>` per line), so that a worker restarted after a crash kills what its previous
 * life left running. The command's watchdog (sources/process) normally does it already; this
 * covers a watchdog that died too. A group is killed only when one of its processes still carries
 * the run's marker in its environment (`RUNLOG_RUN_ID=<run id>`, read from /proc/<pid>/environ):
 * a pid reused by someone else's process is left alone.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export function recordGroup(file: string, pgid: number, runId: string): void {
  try {
    writeFileSync(file, `${pgid} ${runId}\n`);
  } catch {
    // a full disk: the watchdog still kills the group with the worker
  }
}

export function clearGroups(file: string): void {
  rmSync(file, { force: true });
}

/** Kills the groups a previous worker recorded that still run its tasks; returns what it killed. */
export function killLeftoverGroups(file: string): { pgid: number; runId: string; processes: number }[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const killed = [];
  for (const line of text.split('\n')) {
    const [pgidText, runId] = line.split(' ');
    const pgid = Number(pgidText);
    if (!Number.isInteger(pgid) || pgid <= 1 || !runId) continue;
    const members = groupMembers(pgid).filter((pid) => carriesMarker(pid, runId));
    if (members.length === 0) continue;
    try {
      process.kill(-pgid, 'SIGKILL');
      killed.push({ pgid, runId, processes: members.length });
    } catch {
      // gone meanwhile
    }
  }
  clearGroups(file);
  return killed;
}

function groupMembers(pgid: number): number[] {
  const pids = [];
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // fields after the command name: state, ppid, pgrp
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function carriesMarker(pid: number, runId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`RUNLOG_RUN_ID=${runId}`);
  } catch {
    return false;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
