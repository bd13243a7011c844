/**
 * What runs on the far side of `runlog follow ssh://host/path`: a POSIX sh script, so any host
 * with coreutils (stat, head, sha256sum, tail) will do, whatever the user's login shell.
 *
 * It first prints one header line, `RUNLOG1 <ok|reset|missing> <ino> <size> <fp> <fp_len>`: `reset`
 * when the file is not the one the offset counts into (another inode, shorter than the offset, or
 * other first bytes), and then it streams from byte 0 instead. Then the file's bytes from the
 * offset, by `tail -c +N -f`, so nothing already received is sent again. `-f`, not `-F`: a
 * rotation while streaming would mix two files' bytes in one count, so instead the script ends
 * (exit 75) 2 s after the name points elsewhere, and the client connects again and learns of the
 * new file from the header. A byte on stderr every 5 s makes the script die of SIGPIPE soon after
 * the connection is gone, taking its tail with it: nothing is left behind on the host either.
 */

export const ROTATED_EXIT = 75;
export const MISSING_EXIT = 76;

export interface RemoteStart {
  path: string;
  offset: number;
  /** what the offset counts into; ino '-' when unknown */
  ino: string;
  fp: string;
  fpLen: number;
  /** no checkpoint: start at the file's end */
  fromEnd: boolean;
}

/** `'…'` for sh: the only character needing care inside single quotes is the quote itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function remoteScript(start: RemoteStart): string {
  return [
    `f=${shellQuote(start.path)}; o=${Math.floor(start.offset)}; i=${shellQuote(start.ino)}; n=${Math.floor(start.fpLen)}; h=${shellQuote(start.fp)}`,
    `set -- $(stat -L -c '%i %s' -- "$f" 2>/dev/null || echo - 0)`,
    `if [ "$1" = - ]; then echo "RUNLOG1 missing - 0 - 0"; exit ${MISSING_EXIT}; fi`,
    ...(start.fromEnd
      ? ['o=$2; r=ok']
      : [
          `c=$(head -c "$n" -- "$f" | sha256sum | cut -c1-32)`,
          `r=ok; if [ "$o" -gt 0 ] && { [ "$1" != "$i" ] || [ "$2" -lt "$o" ] || [ "$c" != "$h" ]; }; then r=reset; o=0; fi`,
        ]),
    `l=$(head -c 1024 -- "$f" | wc -c); p=$(head -c 1024 -- "$f" | sha256sum | cut -c1-32)`,
    `echo "RUNLOG1 $r $1 $o $p $l"`,
    `tail -c +$((o+1)) -f -- "$f" & t=$!`,
    `trap 'kill $t 2>/dev/null' EXIT HUP INT TERM PIPE`,
    `k=0; while kill -0 $t 2>/dev/null; do sleep 1; k=$((k+1)); [ $((k%5)) -eq 0 ] && printf . >&2`,
    `[ "$(stat -L -c %i -- "$f" 2>/dev/null)" = "$1" ] || { sleep 2; kill $t; wait $t; exit ${ROTATED_EXIT}; }; done`,
  ].join('\n');
}

export interface RemoteHeader {
  state: 'ok' | 'reset' | 'missing';
  ino: string;
  /** where the stream starts */
  offset: number;
  fp: string;
  fpLen: number;
}

export function parseHeader(line: string): RemoteHeader | undefined {
  const match = /^RUNLOG1 (ok|reset|missing) (\S+) (\d+) (\S+) (\d+)$/.exec(line.trim());
  if (!match) return undefined;
  return { state: match[1] as RemoteHeader['state'], ino: match[2] ?? '-', offset: Number(match[3]), fp: match[4] ?? '', fpLen: Number(match[5]) };
}
