/** `ssh://[user@]host[:port]/path`, the name `runlog follow` takes for a file on another machine. */
import { shellQuote } from './remote.js';

export interface SshTarget {
  url: string;
  user?: string;
  host: string;
  port?: number;
  path: string;
}

/** ssh://[user@]host[:port]/path → its parts; the path is absolute (`ssh://h/~/x` is home-relative). */
export function parseSshUrl(url: string): SshTarget | undefined {
  const match = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?(\/.*)$/.exec(url);
  if (!match) return undefined;
  let path = decoded(match[4] ?? '/');
  if (path.startsWith('/~/')) path = path.slice(3); // relative to the remote home
  return {
    url,
    user: match[1] === undefined ? undefined : decoded(match[1]),
    host: (match[2] ?? '').replace(/^\[|\]$/g, ''),
    port: match[3] === undefined ? undefined : Number(match[3]),
    path,
  };
}

/** %XX decoded; a text with a % that starts no %XX (a file named 50%.log) is taken as written. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * ssh's arguments running `script` on the target's host (see ssh.ts for the options): the user's
 * `extra` first, since ssh keeps the first value it reads for an option.
 */
export function sshCommandLine(target: SshTarget, extra: readonly string[], script: string): string[] {
  return [
    ...extra,
    ...(target.port === undefined ? [] : ['-p', String(target.port)]),
    ...(target.user === undefined ? [] : ['-l', target.user]),
    '-T',
    '-o', 'BatchMode=yes',
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'ConnectTimeout=10',
    '-o', 'Compression=yes',
    '--',
    target.host,
    `exec sh -c ${shellQuote(script)}`,
  ];
}
