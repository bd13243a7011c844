/**
 * What a follower says to the user about its file, in the run (`system` lines) and on stderr: the
 * same event in the same words whether the file is local (sources/file) or on another host
 * (sources/ssh), so that a user who follows both, or greps a run for a loss, learns one wording.
 * `name` is the file as the user gave it: its path, or its ssh:// URL.
 */

/**
 * The file is not the one the checkpoint counts into (truncated, replaced, deleted or moved away
 * while no follower read it: stopped, or the connection down): what it held after `offset` is
 * lost. `lost`: how many bytes of it were known then (0: how many is not known).
 */
export function changedWhileUnfollowed(name: string, offset: number, lost: number): string {
  const what = lost > 0 ? `${lost} bytes after byte ${offset}, and whatever was written after them,` : `what was written after byte ${offset}`;
  return `${name}: changed while nobody followed it (truncated, replaced, deleted, or moved out of its directory): ${what} could not be read`;
}

/** Truncated while followed, and no rotated copy held what was written after `offset` before it. */
export function truncatedWithoutCopy(name: string, offset: number): string {
  return `${name}: truncated; lines written after byte ${offset} before the truncation could not be read (no rotated copy found)`;
}

/** No file under the name (yet): the follower waits for it. */
export function noFileYet(name: string): string {
  return `${name}: no such file yet; it is read once it appears`;
}
