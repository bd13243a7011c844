/**
 * What runs on the far side of `runlog follow ssh://host/path`: a POSIX sh script, so any Linux
 * host with coreutils (stat, head, dd, sha256sum, tail) will do, whatever the user's login shell.
 *
 * It first prints one header line, `RUNLOG1 <ok|reset|missing> <ino> <size> <fp> <fp_len>`: `reset`
 * when the file is not the one the offset counts into (another inode, shorter than the offset, or
 * other first bytes), and then it streams from byte 0 instead. Then the file's bytes from the
 * offset: the file is opened once (fd 3) and `cat` reads it to its end 10 times a second while it
 * grows (4 once it has been still for 2 s), so nothing already received is sent again and the
 * count of bytes received is always a place in that one file. Each look also compares:
 * - how far fd 3 was read (/proc/$$/fdinfo/3) with the open file's size: shorter means truncated
 *   (copytruncate, or `: > file`); so does another first line (up to 1 KiB, compared with shell
 *   builtins before each read: a truncation the writer regrew past the offset between two looks),
 *   or, while the file has no whole first line yet, other first bytes (a sha256sum a look). The newest sibling named as a rotated copy (app.log.1, app.log-…) with the same first bytes (logrotate's
 *   copy) gives the bytes written after that point before the truncation; the script sends them
 *   and ends (exit 78) with `RUNLOG-TRUNC <copy|none> <offset> <fp_len> <fp> <birth>` on stderr (the
 *   first bytes written since the truncation, waiting up to 2 s for some), and the client reads
 *   the file again from its start, saying in a `system` line when no copy had the missing bytes.
 *   When the file no longer starts with those bytes as the next session begins, it was truncated
 *   again meanwhile (copytruncate twice while the connection was made again): the copy that starts
 *   with them is sent whole first (header `sibling`), or `RUNLOG-RETRUNC` says it is gone; when
 *   the file under the name was born after the one truncated (deleted and made again, its inode
 *   number taken again), `RUNLOG-REBORN <ino>` says the old one's loss instead;
 * - the name's inode with the open file's: when the name points elsewhere (renamed, replaced),
 *   the old file is read on for 2 s (its writer may not have moved yet), then the script ends
 *   (exit 75) and the client connects again and learns of the new file from the header. The inode
 *   the name pointed to then (the next file) goes to stderr as `RUNLOG-NEXT <ino> <fp_len> <fp> <birth>`
 *   with its first bytes, and the client passes them to the next session: when the name points
 *   elsewhere by then (the next file was rotated in turn before anybody read it), that session
 *   finds it beside the name by its inode and sends it whole first (header `sibling`, exit 77), or
 *   says `RUNLOG-LOST <ino>` on stderr when it is not there any more; the client says so in a
 *   `system` line. When the name's file starts with other bytes by then (copytruncate while the
 *   connection was made again), the copy starting with them is sent whole first, or
 *   `RUNLOG-RETRUNC` says it is gone. (Two rotations less
 *   than 0.1 s apart still go unseen.)
 * When nobody was reading as the file was renamed (a follower restarted from its checkpoint, a
 * connection that was down), the name points elsewhere at the start: the file the offset counts
 * into is looked for beside the name by its inode and first bytes, and its bytes from the offset
 * (from 0 when nothing of it was delivered yet) are sent (header `moved`), then the script ends as after a rotation (exit 75, `RUNLOG-NEXT`
 * with the inode of the file rotated next: a sibling written after it when it was rotated twice
 * meanwhile, else the name's), so that file comes next, whole; a sibling so read is in turn the
 * file the offset counts into, so any number of rotations are read in order, one per session.
 * When the file was truncated while nobody was reading (copytruncate while the follower was
 * stopped: the same inode, but shorter than the offset, or with other first bytes, or other bytes
 * just before the offset than the checkpoint's tail fingerprint says), the newest rotated copy
 * holding the file up to the offset (named as one, the same first bytes, the same bytes before the
 * offset) gives the rest, as for a moved file (header `moved`, exit 75); then the file is read from
 * its start. With no such copy the session starts at 0 (`reset`) and the client says the loss.
 * A session that reads the file from its start lists its rotated copies first (`RUNLOG-SIBS <ino>
 * <inodes>`); while nothing of it is read the client keeps the list (in the checkpoint too), and a
 * session that finds a copy not in it (copytruncate before a line was read) sends the oldest such
 * whole first (header `sibling`).
 * When there is no file under the name, the header says `missing` and the session waits for one
 * (RUNLOG-LOOK on stderr each second), then ends with exit 79 and `RUNLOG-APPEARED <ino>`: the
 * next session, made at once, reads it (whole, even with --from-end: it is a new file).
 * A byte on stderr every 2–5 s makes the script die of SIGPIPE soon after the connection is gone:
 * nothing is left behind on the host.
 * The follower stops by closing the script's stdin (ssh passes the EOF on): a reader in the
 * background signals the script (USR1), which reads the file to its end once more and exits 0, so
 * the lines written just before a stop are delivered rather than left for the next start. Before
 * that read it checks the file was not truncated since its last look (shorter than what was read,
 * or other first bytes): then it ends as after any truncation (RUNLOG-TRUNC, exit 78), and the
 * follower reads the file again from its start while the stop's time lasts. What that time does
 * not reach is counted by survey.ts.
 */

export const ROTATED_EXIT = 75;
export const MISSING_EXIT = 76;
export const SIBLING_EXIT = 77;
export const TRUNCATED_EXIT = 78;
export const APPEARED_EXIT = 79;

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
  /** the first bytes of that file then (as `fp`, `fpLen`): other ones under the name mean it was truncated since */
  nextFp?: string;
  nextFpLen?: number;
  /** that file's birth time (ns; '-': unknown): a file under the name with its inode but born later is another one */
  nextBirth?: string;
  /** the birth time of the file the offset counts into, when known (after a truncation: RUNLOG-TRUNC) */
  birth?: string;
  /** nothing of the file read yet: the inodes of its rotated copies when it was seen empty (RUNLOG-SIBS) */
  siblings?: string[];
  /** inodes of rotated files already read to their end since the follower last read the name's file */
  done?: string[];
  /** sha256 (32 hex) of the `tailLen` bytes just before the offset: a copy holds them there too */
  tailFp?: string;
  tailLen?: number;
}

/** `'…'` for sh: the only character needing care inside single quotes is the quote itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function remoteScript(start: RemoteStart): string {
  return [
    `f=${shellQuote(start.path)}; o=${Math.floor(start.offset)}; i=${shellQuote(start.ino)}; n=${Math.floor(start.fpLen)}; h=${shellQuote(start.fp)}; x=${shellQuote(start.next ?? '-')}; xn=${Math.floor(start.nextFpLen ?? 0)}; xh=${shellQuote(start.nextFp ?? '-')}; xb=${shellQuote(start.nextBirth ?? '-')}; ib=${shellQuote(start.birth ?? '-')}; d=${shellQuote(` ${(start.done ?? []).join(' ')} `)}; sb=${shellQuote(start.siblings === undefined ? '-' : ` ${start.siblings.join(' ')} `)}; tl=${start.tailFp === undefined ? 0 : Math.floor(start.tailLen ?? 0)}; th=${shellQuote(start.tailFp ?? '-')}`,
    `set -- $(stat -L -c '%i %s' -- "$f" 2>/dev/null || echo - 0)`,
    // a file's birth time (ns, one integer; - when the file system does not keep it): a file deleted
    // and made again may take the old one's inode number (ext4 hands a freed one out at once), and
    // only this tells it from the old file truncated (both start with other bytes)
    `bt() { v=$(stat -L -c %.9W -- "$1" 2>/dev/null | tr -d .); case $v in ''|0|-*|*[!0-9]*) echo -;; *) echo "$v";; esac; }`,
    // is the name's file another one than the one born at $1 (both births known)?
    `reborn() { [ "$1" != - ] && vb=$(bt "$f") && [ "$vb" != - ] && [ "$vb" != "$1" ]; }`,
    // a file's first bytes (up to 1 KiB): their count in $fl, their fingerprint in $fh, from one
    // read (tee to wc through fd 5), so that a file growing or truncated meanwhile (copytruncate)
    // gives the fingerprint of the bytes counted; two reads gave a count of one file state and the
    // fingerprint of fewer bytes, which no copy matched (a loss said where there was none)
    `fp() { fl=0; fh=; for v in $( { { head -c 1024 -- "$1" 2>/dev/null | tee /dev/fd/5 | sha256sum | cut -c1-32; } 5>&1 >&6 | wc -c; } 6>&1 ); do`,
    `  if [ \${#v} -eq 32 ]; then fh=$v; else fl=$v; fi; done; }`,
    // the file with inode $1 beside the name (logrotate's app.log.1, app.log-20261201), left in $g
    `beside() { for g in "$f".* "$f"-* "$(dirname -- "$f")"/*; do [ -f "$g" ] && [ "$(stat -L -c %i -- "$g" 2>/dev/null)" = "$1" ] && return 0; done; return 1; }`,
    // is a file with inode $1 beside the name, under another name than the name's own?
    `away() { for e in "$f".* "$f"-* "$(dirname -- "$f")"/*; do [ "$e" != "$f" ] && [ -f "$e" ] && [ "$(stat -L -c %i -- "$e" 2>/dev/null)" = "$1" ] && return 0; done; return 1; }`,
    // a checksum of the name's first line once it is whole (none before)
    `fln() { head -c 1024 -- "$f" 2>/dev/null | { IFS= read -r l1 && printf %s "$l1" | cksum; }; }`,
    // the file rotated next after $g (a second rotation while nobody read: app.log.1 written after
    // app.log.2 was), its inode in $ni, else the name's ($1): not compressed, not read already
    // ($d: files written in the same clock tick have the same time), written no earlier than $g
    // (nanoseconds, as one integer), the oldest such; the next session sends it whole
    `later() { y=$1; ni=$1; nb=; a0=$(stat -L -c %.9Y -- "$g" | tr -d .); for e in "$f".* "$f"-*; do`,
    `  case $e in *.gz|*.bz2|*.xz|*.zst|*.lz4|*.Z|*.zip) continue;; esac; [ -f "$e" ] || continue`,
    `  set -- $(stat -L -c '%i %.9Y' -- "$e" 2>/dev/null | tr -d .) - 0`,
    `  case $d in *" $1 "*) continue;; esac`,
    `  [ "$1" != "$i" ] && [ "$1" != "$y" ] && [ "$2" -ge "$a0" ] && { [ -z "$nb" ] || [ "$2" -lt "$nb" ]; } && { ni=$1; nb=$2; }`,
    `done; }`,
    // the next file ($ni) named for the next session with its first bytes, so that a copytruncate
    // before that session begins is seen (the name's file, fingerprinted in $1 $2 before \`later\`
    // looked at the copies: a truncation after that is told by them, one before by this)
    `nx() { if [ "$ni" = "$3" ]; then fl=$1; fh=$2; fb=$(bt "$f"); elif beside "$ni"; then fp "$g"; fb=$(bt "$g"); else fl=0; fh=-; fb=-; fi; echo "RUNLOG-NEXT $ni $fl $fh $fb" >&2; }`,
    // the name's file, its first bytes fingerprinted, and its inode (for nx)
    `nf() { fp "$f"; ns=$(stat -L -c %i -- "$f" 2>/dev/null || echo -); }`,
    // a rotated copy (not the name's file) starting with the $1 bytes fingerprinted $2, in $g
    `holder() { for g in "$f".* "$f"-*; do`,
    `  [ -f "$g" ] && [ "$(stat -L -c %i -- "$g" 2>/dev/null)" != "$(stat -L -c %i -- "$f" 2>/dev/null)" ] && [ "$(head -c "$1" -- "$g" | sha256sum | cut -c1-32)" = "$2" ] && return 0`,
    `done; return 1; }`,
    // copy $g sent whole, from its first byte; the name's file comes after it
    `whole() { fp "$g"; echo "RUNLOG1 sibling $(stat -L -c %i -- "$g") 0 $fh $fl"; cat -- "$g"; exit ${SIBLING_EXIT}; }`,
    // nothing of the file read when its copies were listed ($sb): the oldest copy made since (not
    // compressed, not read already), in $g: a copytruncate while nobody read, its lines only there
    `fresh() { g=; m=; for e in "$f".* "$f"-*; do`,
    `  case $e in *.gz|*.bz2|*.xz|*.zst|*.lz4|*.Z|*.zip) continue;; esac; [ -f "$e" ] || continue`,
    `  set -- $(stat -L -c '%i %.9Y' -- "$e" 2>/dev/null | tr -d .) - 0`,
    `  case "$sb$d" in *" $1 "*) continue;; esac`,
    `  [ "$1" != "$i" ] && { [ -z "$m" ] || [ "$2" -lt "$m" ]; } && { g=$e; m=$2; }`,
    `done; [ -n "$g" ]; }`,
    // does file $1 hold, just before the offset, the bytes fingerprinted in $th? (yes when none are known)
    `tailis() { [ "$tl" -eq 0 ] || [ "$(dd iflag=skip_bytes,count_bytes skip=$((o-tl)) count="$tl" 2>/dev/null <"$1" | sha256sum | cut -c1-32)" = "$th" ]; }`,
    // the newest rotated copy (app.log.1, app.log-…; not compressed) holding the file up to the
    // offset: the same first bytes, at least $o long, the same bytes before $o; in $g, its inode in $bi
    `copied() { g=; m=0; for e in "$f".* "$f"-*; do`,
    `  case $e in *.gz|*.bz2|*.xz|*.zst|*.lz4|*.Z|*.zip) continue;; esac; [ -f "$e" ] || continue`,
    `  set -- $(stat -L -c '%i %s %.9Y' -- "$e" 2>/dev/null | tr -d .) - 0 0`,
    `  [ "$1" != "$i" ] && [ "$2" -ge "$o" ] && [ "$3" -gt "$m" ] || continue`,
    `  [ "$(head -c "$n" -- "$e" | sha256sum | cut -c1-32)" = "$h" ] && tailis "$e" && { g=$e; bi=$1; m=$3; }`,
    `done; [ -n "$g" ]; }`,
    // the next file was rotated away unread: beside the name, sent whole
    `if [ "$x" != - ] && [ "$1" != "$x" ]; then`,
    `  if beside "$x"; then`,
    `    fp "$g"; echo "RUNLOG1 sibling $x 0 $fh $fl"`,
    `    cat -- "$g"; exit ${SIBLING_EXIT}`,
    `  fi`,
    `  echo "RUNLOG-LOST $x" >&2`,
    `fi`,
    // the name's file has the next file's inode number but was born after it: that one was deleted
    // unread, and a new file took its number (it is read from its start, as any new file)
    `if [ "$x" != - ] && [ "$1" = "$x" ] && reborn "$xb"; then echo "RUNLOG-REBORN $x" >&2`,
    // the next file is still the name's but starts with other bytes than when it was named: it was
    // truncated (copytruncate) while the connection was made again; its copy is sent whole first
    `elif [ "$x" != - ] && [ "$1" = "$x" ] && [ "$xn" -gt 0 ] && [ "$(head -c "$xn" -- "$f" | sha256sum | cut -c1-32)" != "$xh" ]; then`,
    `  holder "$xn" "$xh" && whole; echo "RUNLOG-RETRUNC" >&2`,
    `fi`,
    // the file the offset counts into was rotated while nobody read it (a restarted follower, a
    // connection that was down): beside the name by its inode, with its first bytes; its bytes
    // from the offset (all of them at offset 0: nothing of it was delivered yet, and it may have
    // been written before the rename), then the name's file as after any rotation
    `if [ "$x" = - ] && [ "$i" != - ] && [ "$1" != - ] && [ "$1" != "$i" ] && beside "$i" &&`,
    `  [ "$(stat -L -c %s -- "$g")" -ge "$o" ] && { [ "$n" -eq 0 ] || [ "$(head -c "$n" -- "$g" | sha256sum | cut -c1-32)" = "$h" ]; }; then`,
    `  echo "RUNLOG1 moved $i $o $h $n"; tail -c +$((o+1)) -- "$g"; nf; later "$1"; nx "$fl" "$fh" "$ns"; exit ${ROTATED_EXIT}`,
    `fi`,
    // no file under the name (yet): the session waits for it, looking 4 times a second (a note on
    // stderr each second says it looked, and ends the script by SIGPIPE once the connection is
    // gone); once it is there the session ends (exit 79, its inode as RUNLOG-APPEARED) and the
    // next one, made at once, reads it. A session made only every 10 s (the connection backoff)
    // left the first lines of a job's log up to 10 s late, and a file rotated meanwhile unread
    `if [ "$1" = - ]; then`,
    `  echo "RUNLOG1 missing - 0 - 0"; halt=; trap 'halt=1' USR1; exec 4<&0`,
    `  { cat <&4; kill -USR1 $$; } >/dev/null 2>&1 &`,
    `  k=0; while [ -z "$halt" ]; do`,
    `    sleep 0.25; set -- $(stat -L -c %i -- "$f" 2>/dev/null || echo -)`,
    `    [ "$1" = - ] || { echo "RUNLOG-APPEARED $1" >&2; exit ${APPEARED_EXIT}; }`,
    `    k=$((k+1)); [ $((k%4)) -ne 0 ] || echo RUNLOG-LOOK >&2 || exit 0`,
    `  done; exit ${MISSING_EXIT}`,
    `fi`,
    ...(start.fromEnd
      ? ['o=$2; r=ok']
      : [
          `c=$(head -c "$n" -- "$f" | sha256sum | cut -c1-32)`,
          // truncated again before this session began (copytruncate twice while a connection was
          // made again): the copy holding the first bytes the last session saw after the first
          // truncation is sent whole first, as a sibling; when there is none, that is said
          // (or deleted and made again on its inode number, its birth says: nothing of it can be read)
          `if [ "$o" -eq 0 ] && [ "$1" = "$i" ] && reborn "$ib"; then echo "RUNLOG-REBORN $i" >&2`,
          `elif [ "$o" -eq 0 ] && [ "$n" -gt 0 ] && [ "$1" = "$i" ] && [ "$c" != "$h" ]; then`,
          `  holder "$n" "$h" && whole; echo "RUNLOG-RETRUNC" >&2`,
          `fi`,
          `if [ "$o" -eq 0 ] && [ "$n" -eq 0 ] && [ "$sb" != - ] && [ "$1" = "$i" ] && fresh; then whole; fi`,
          // truncated while nobody read it (copytruncate while the follower was stopped): the copy
          // gives the bytes from the offset, as for a moved file, then the file comes from its start
          `s=; if [ "$o" -gt 0 ] && [ "$1" = "$i" ] && { [ "$2" -lt "$o" ] || [ "$c" != "$h" ] || ! tailis "$f"; }; then s=1; fi`,
          `if [ -n "$s" ] && copied; then`,
          // (the name's file just truncated: its first bytes, waiting up to 2 s for some, name it)
          `  echo "RUNLOG1 moved $bi $o $h $n"; tail -c +$((o+1)) -- "$g"; i=$bi`,
          `  tw=0; while [ $tw -lt 20 ] && [ "$(stat -L -c %s -- "$f" 2>/dev/null || echo 0)" -eq 0 ]; do sleep 0.1; tw=$((tw+1)); done`,
          `  nf; later "$1"; nx "$fl" "$fh" "$ns"; exit ${ROTATED_EXIT}`,
          `fi`,
          // another file under the name, the one counted into not found beside it: the client says
          // what could not be read (even at offset 0: it may have been written before it went)
          `r=ok; if { [ "$i" != - ] && [ "$1" != "$i" ]; } || { [ "$o" -gt 0 ] && [ -n "$s" ]; }; then r=reset; o=0; fi`,
        ]),
    // from its start: its copies now, listed before its first bytes are taken (the client keeps the
    // list while nothing of the file is read: a copy not in it was made after, and holds unread lines)
    `[ "$o" -gt 0 ] || echo "RUNLOG-SIBS $1 $(for e in "$f".* "$f"-*; do [ -f "$e" ] && stat -L -c %i -- "$e"; done | tr '\\n' ' ')" >&2`,
    // the file stays open on fd 3, read by `cat` to its end each look (the kernel keeps the
    // offset): after a rename it is still the one read, and a truncation leaves the offset past
    // the end, where it is seen (GNU tail -f would go on from the new start, and the count of
    // bytes would no longer say where in the file they are)
    `exec 3<"$f" || exit ${MISSING_EXIT}`,
    // the file's first line (up to 1 KiB) in $h1, $hc=1 once it is whole (- when it is not within
    // 1 KiB): each look compares it (shell builtins only) before reading on, as a truncation regrown
    // past the read offset between two looks shows no shorter size, only another first line
    `fl1() { h1=$(head -c 1024 /dev/fd/3 | { IFS= read -r v && printf %s "$v"; }) && hc=1 || { [ "$(stat -L -c %s /dev/fd/3)" -lt 1024 ] && hc= || hc=-; }; }`,
    // the first bytes of the file opened, its first line, then the first bytes again, until they
    // agree: a truncation (copytruncate) between two is taken again, so that the header's first
    // bytes are those of what is streamed (they were taken by name before it was opened: a
    // truncation between gave the old file's, which no copy of what was read matched; one after
    // this is seen by the first line at the first look)
    `k=0; while :; do fp /dev/fd/3; l=$fl; p=$fh; fl1; { [ "$(head -c "$l" /dev/fd/3 | sha256sum | cut -c1-32)" = "$p" ] || [ $k -ge 10 ]; } && break; k=$((k+1)); done`,
    `j=$1; echo "RUNLOG1 $r $j $o $p $l"`,
    `[ "$o" -gt 0 ] && dd iflag=skip_bytes skip="$o" count=0 <&3 2>/dev/null`,
    `q=$o; w=$o; z=0; k=0; g=-1`,
    // stdin ends: the follower stops. (An asynchronous list's stdin is /dev/null unless redirected
    // explicitly, hence fd 4; its output goes nowhere, so sshd does not wait for it.)
    // the old file read to its end: the ones gone meanwhile said, the next one named (see below)
    `onto() { cat <&3; c=; for y in $v; do [ "$y" = - ] && continue; if away "$y"; then c=\${c:-$y}; else echo "RUNLOG-LOST $y" >&2; fi; done`,
    `  nf; ni=\${c:-$u}; nx "$fl" "$fh" "$ns"; exit ${ROTATED_EXIT}; }`,
    `halt=; trap 'halt=1' USR1; exec 4<&0`,
    `{ cat <&4; kill -USR1 $$; } >/dev/null 2>&1 &`,
    // stopping: was the file truncated since the last look (shorter than what was read, or other
    // first bytes: written again past the offset)? Then it is not read on (its bytes at the offset
    // are not the next ones: old and new would mix) but handled as any truncation below. One
    // sha256sum at the stop only: each look compares the first line with builtins (above)
    `shrunk() { while read a b; do [ "$a" = pos: ] && q=$b; done </proc/$$/fdinfo/3`,
    `  [ "$(stat -L -c %s /dev/fd/3)" -lt "$q" ] || { [ "$l" -gt 0 ] && [ "$(head -c "$l" /dev/fd/3 | sha256sum | cut -c1-32)" != "$p" ]; }; }`,
    `while :; do`,
    // another first line: truncated and written again (its new bytes at the offset are not the next ones)
    `  rg=; if [ "$hc" = 1 ]; then IFS= read -r c1 </dev/fd/3 && [ "$c1" = "$h1" ] || rg=1`,
    // no whole first line yet (a young file, a progress bar): its first bytes, as many as were
    // fingerprinted, are compared instead (a sha256sum a look, only while it is so young)
    `  elif [ -z "$hc" ] && [ "$l" -gt 0 ] && [ "$(head -c "$l" /dev/fd/3 | sha256sum | cut -c1-32)" != "$p" ]; then rg=1; fi`,
    `  [ -n "$halt" ] && [ -z "$rg" ] && shrunk && rg=1`,
    // a write that fails (the connection is gone, SIGPIPE ignored) ends the script
    `  [ -n "$rg" ] || cat <&3 || exit 0`,
    // stopping: what was written before the signal is read (the cat before may have ended first),
    // once the file is known not truncated meanwhile
    // (and when the name points to another file by then, that one is the next: the follower reads
    // it too before it stops, and the lines of a job's last rotations are not left behind)
    `  [ -n "$halt" ] && [ -z "$rg" ] && shrunk && rg=1`,
    `  if [ -n "$halt" ] && [ -z "$rg" ]; then cat <&3; set -- $(stat -L -c '%s %i' -- /dev/fd/3 "$f" 2>/dev/null) - -`,
    `    [ $g -lt 0 ] && [ "$4" != "$j" ] && [ "$4" != - ] && { g=0; u=$4; v=; }; [ $g -ge 0 ] && onto; exit 0`,
    `  fi`,
    // how far fd 3 has been read, and the sizes of the open file and of the name's file
    `  while read a b; do [ "$a" = pos: ] && q=$b; done </proc/$$/fdinfo/3`,
    // a first line not whole before: taken as soon as bytes were read (a look later, the file may
    // already have been truncated and written again)
    `  [ -z "$hc" ] && [ -z "$rg" ] && [ "$q" != "$w" ] && fl1`,
    `  set -- $(stat -L -c '%s %i' -- /dev/fd/3 "$f" 2>/dev/null) - -`,
    // the first bytes' fingerprint grows with a young file (up to 1 KiB): it finds the copy
    `  [ "$l" -lt 1024 ] && [ "$1" -gt "$l" ] && [ -z "$rg" ] && { l=$(head -c 1024 /dev/fd/3 | wc -c); p=$(head -c "$l" /dev/fd/3 | sha256sum | cut -c1-32); }`,
    `  if [ "$1" -lt "$q" ] || [ -n "$rg" ]; then`,
    // truncated (copytruncate, or in place): what was written after byte q before it is looked
    // for in the newest sibling with the same first bytes (logrotate's copy), then the file is
    // read again from its start by the next session
    `    b=; m=0`,
    // (only names a rotated copy has, app.log.1, app.log-20261201: another log of the directory
    // may start with the same bytes, a banner, and is not this file's copy)
    `    t() { for e; do`,
    `      [ "$l" -gt 0 ] && [ -f "$e" ] || continue`,
    `      set -- $(stat -L -c '%i %Y' -- "$e" 2>/dev/null) - 0`,
    `      [ "$1" != "$j" ] && [ "$2" -ge "$m" ] || continue`,
    `      [ "$(head -c "$l" -- "$e" | sha256sum | cut -c1-32)" = "$p" ] && { b=$e; m=$2; }`,
    `    done; }`,
    `    t "$f".* "$f"-*`,
    `    if [ -n "$b" ]; then tail -c +$((q+1)) -- "$b"; b=copy; else b=none; fi`,
    // the truncated file's new first bytes (waiting up to 2 s for some) go to the next session,
    // which so finds a second truncation made before it began
    `    tw=0; while [ $tw -lt 20 ] && [ "$(stat -L -c %s -- "$f" 2>/dev/null || echo 0)" -eq 0 ]; do sleep 0.1; tw=$((tw+1)); done`,
    `    fp "$f"; echo "RUNLOG-TRUNC $b $q $fl $fh $(bt "$f")" >&2`,
    `    exit ${TRUNCATED_EXIT}`,
    `  fi`,
    // renamed away or replaced: read on for 2 s (its writer may not have moved yet), then end
    // Meanwhile the name may point to further files (a writer rotating faster than every 2 s): each
    // file it pointed to before the last one ($u) goes in $v, also when a new file took the inode
    // number of one deleted (seen as the name's file getting shorter, or another first line). At
    // the end one nowhere beside the name by then (made and deleted within those 2 s) was never
    // read: said with RUNLOG-LOST. The first still beside it is the next file (read whole by the
    // next session), else the name's
    `  if [ $g -lt 0 ]; then [ "$4" = "$j" ] || { g=20; u=$4; us=$3; uf=$(fln); v=; }`,
    `  else g=$((g-1)); nf=$(fln)`,
    `    if [ "$4" = - ]; then :`,
    `    elif [ "$4" != "$u" ] || [ "$3" -lt "$us" ] || { [ -n "$uf" ] && [ -n "$nf" ] && [ "$nf" != "$uf" ]; }; then v="$v $u"; u=$4; us=$3; uf=$nf`,
    `    else us=$3; uf=\${uf:-$nf}; fi`,
    `    [ $g -eq 0 ] && onto; fi`,
    // 10 looks a second while the file grows, 4 once it has been still for 2 s
    `  if [ "$q" != "$w" ]; then w=$q; z=0; else z=$((z+1)); fi`,
    `  if [ $z -lt 20 ] || [ $g -ge 0 ]; then sleep 0.1; else sleep 0.25; fi`,
    `  k=$((k+1)); if [ $((k%20)) -eq 0 ]; then printf . >&2 || exit 0; fi`,
    `done`,
  ].join('\n');
}

export interface RemoteHeader {
  state: 'ok' | 'reset' | 'missing' | 'sibling' | 'moved';
  ino: string;
  /** where the stream starts */
  offset: number;
  fp: string;
  fpLen: number;
}

export function parseHeader(line: string): RemoteHeader | undefined {
  const match = /^RUNLOG1 (ok|reset|missing|sibling|moved) (\S+) (\d+) (\S+) (\d+)$/.exec(line.trim());
  if (!match) return undefined;
  return { state: match[1] as RemoteHeader['state'], ino: match[2] ?? '-', offset: Number(match[3]), fp: match[4] ?? '', fpLen: Number(match[5]) };
}
