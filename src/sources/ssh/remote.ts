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
 * new file from the header. The name is looked at 5 times a second; the inode it first pointed
 * to after the followed file (the next file) goes to stderr as `RUNLOG-NEXT <ino>` when the script
 * ends, and the client passes it to the next session: when the name points elsewhere by then (the
 * next file was rotated in turn before anybody read it), that session finds it beside the name
 * by its inode and sends it whole first (header `sibling`, exit 77), or says `RUNLOG-LOST <ino>`
 * on stderr when it is not there any more; the client says so in a `system` line. (Two rotations
 * less than 0.2 s apart still go unseen.) A byte on stderr every 5 s makes the script die of
 * SIGPIPE soon after the connection is gone, taking its tail with it: nothing is left behind on
 * the host either.
 */

export const ROTATED_EXIT = 75;
export const MISSING_EXIT = 76;
export const SIBLING_EXIT = 77;

export interface RemoteStart {
  path: string;
  offset: number;
  /** what the offset counts into; ino '-' when unknown */
  ino: string;
  fp: string;
  fpLen: number;
  /** no checkpoint: start at the file's end */
  fromEnd: boolean;
  /** the inode the name pointed to after the file followed last ('-': none seen) */
  next?: string;
}

/** `'…'` for sh: the only character needing care inside single quotes is the quote itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function remoteScript(start: RemoteStart): string {
  return [
    `f=${shellQuote(start.path)}; o=${Math.floor(start.offset)}; i=${shellQuote(start.ino)}; n=${Math.floor(start.fpLen)}; h=${shellQuote(start.fp)}; x=${shellQuote(start.next ?? '-')}`,
    `set -- $(stat -L -c '%i %s' -- "$f" 2>/dev/null || echo - 0)`,
    // the next file was rotated away unread: beside the name (logrotate's app.log.1), sent whole
    `if [ "$x" != - ] && [ "$1" != "$x" ]; then`,
    `  for g in "$f".* "$f"-* "$(dirname -- "$f")"/*; do`,
    `    if [ -f "$g" ] && [ "$(stat -L -c %i -- "$g" 2>/dev/null)" = "$x" ]; then`,
    `      echo "RUNLOG1 sibling $x 0 $(head -c 1024 -- "$g" | sha256sum | cut -c1-32) $(head -c 1024 -- "$g" | wc -c)"`,
    `      cat -- "$g"; exit ${SIBLING_EXIT}`,
    `    fi`,
    `  done`,
    `  echo "RUNLOG-LOST $x" >&2`,
    `fi`,
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
    `k=0; while kill -0 $t 2>/dev/null; do sleep 0.2; k=$((k+1)); [ $((k%25)) -eq 0 ] && printf . >&2`,
    `c=$(stat -L -c %i -- "$f" 2>/dev/null || echo -); [ "$c" = "$1" ] || { sleep 2; echo "RUNLOG-NEXT $c" >&2; kill $t; wait $t; exit ${ROTATED_EXIT}; }; done`,
  ].join('\n');
}

export interface RemoteHeader {
  state: 'ok' | 'reset' | 'missing' | 'sibling';
  ino: string;
  /** where the stream starts */
  offset: number;
  fp: string;
  fpLen: number;
}

export function parseHeader(line: string): RemoteHeader | undefined {
  const match = /^RUNLOG1 (ok|reset|missing|sibling) (\S+) (\d+) (\S+) (\d+)$/.exec(line.trim());
  if (!match) return undefined;
  return { state: match[1] as RemoteHeader['state'], ino: match[2] ?? '-', offset: Number(match[3]), fp: match[4] ?? '', fpLen: Number(match[5]) };
}
