import type { ChildProcess } from 'node:child_process';

export declare const SSHD: string;

export interface Sshd {
  process: ChildProcess;
  port: number;
  /** --ssh-option for runlog follow: the key made for it, no known_hosts */
  sshOption: string;
  /** the directory of its keys and config (tests put their "remote" files there too) */
  dir: string;
}

export declare function freePort(): Promise<number>;
export declare function sshdConfig(dir: string, port: number): string;
export declare function startSshdIn(dir: string, timeoutMs?: number): Promise<Sshd>;
