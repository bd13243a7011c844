/** `ssh://[user@]host[:port]/path`, the name `runlog follow` takes for a file on another machine. */

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
