/**
 * A store whose schema is newer than this release knows (a newer runlog migrated it, then an older
 * one was started on it): refused before anything is read or written, since this release would
 * misread columns it does not know and could write rows the newer one misreads.
 */
export function refuseNewerSchema(what: string, found: number, known: readonly { version: number }[]): void {
  const latest = Math.max(0, ...known.map((m) => m.version));
  if (found <= latest) return;
  throw new Error(
    `this ${what} is at schema version ${found}, made by a newer runlog; this runlog knows versions up to ${latest}: ` +
      'upgrade runlog to open it (nothing was changed)',
  );
}
