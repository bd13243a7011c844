/**
 * Which process owns a file: its pid and its start time (field 22 of /proc/<pid>/stat, in clock
 * ticks since boot). The start time tells a live owner from a new process that got the same pid.
 * Where /proc is missing, a pid that answers signal 0 counts as alive.
 */
import { readFileSync } from 'node:fs';

export interface Owner {
  pid: number;
  /** clock ticks since boot, or null where /proc is missing */
  start: number | null;
  /** what kind of process it is: `run`, `worker`, `sync` */
  kind: string;
}

/** The fields of /proc/<pid>/stat after the command name: [0] the state letter, [19] the start time; undefined without /proc. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last `)`
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function processStartTime(pid: number): number | null {
  return startOf(statFields(pid));
}

function startOf(fields: string[] | undefined): number | null {
  const start = Number(fields?.[19]);
  return fields !== undefined && Number.isFinite(start) ? start : null;
}

export function self(kind: string): Owner {
  return { pid: process.pid, start: processStartTime(process.pid), kind };
}

export function isAlive(owner: Owner | undefined): boolean {
  if (!owner || !Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const fields = statFields(owner.pid);
  // a zombie (killed, not yet reaped by its parent) writes nothing more: its WAL is free to deliver
  if (fields?.[0] === 'Z') return false;
  if (owner.start === null) return true;
  return startOf(fields) === owner.start;
}
