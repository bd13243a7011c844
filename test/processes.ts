/** Test plumbing for processes: is a pid gone (or a zombie nobody reaped yet), a seeded random source. */
import { readFileSync } from 'node:fs';

/** True once `pid` has exited: no /proc entry, or a zombie (dead, waiting to be reaped by init). */
export function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same kill points. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
