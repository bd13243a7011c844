/**
 * `runlog follow PATH|GLOB|ssh://host/path... --run ID`: ship files' lines into a run as they grow
 * (see README, "runlog follow").
 *
 * One RecordBuilder for the run, fed by a FileFollower (local paths and globs) and an SshFollower
 * per remote file; one HubShipper. When the hub acknowledges a batch, each follower tells which
 * byte offset of each file that seq stands for, and the checkpoint (`<data>/follow/<run>.json`)
 * is written: a restart takes up there, numbering on from the checkpoint's seq.
 * SIGINT/SIGTERM: read every file to its end, wait for the hub to have it all (--flush-timeout),
 * write the checkpoint, exit 0. The run stays `running` (another follower may take it up) unless
 * --end-on-exit, which flushes partial last lines and ends it `completed`.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { DEFAULTS } from '../../core/config.js';
import { nowMicros } from '../../core/record.js';
import { RecordBuilder } from '../../pipeline/records.js';
import { lockWithPid } from '../../server/lock.js';
import { HubShipper } from '../../sinks/hub.js';
import { hubError, hubPost, hubRequest, hubStateReporter, jsonOf } from '../../sinks/hub-http.js';
import { expandGlob, isGlob } from '../../sources/file/glob.js';
import { checkpointPath, checkpointSaver, loadCheckpoint, newWriterKey, saveCheckpoint, type FileCheckpoint, type FollowCheckpoint } from '../../sources/file/checkpoint.js';
import { FileFollower } from '../../sources/file/follower.js';
import { locateCheckpointed, safeStat } from '../../sources/file/siblings.js';
import { parseSshUrl, SshFollower } from '../../sources/ssh/ssh.js';
import { noFileYet } from '../../sources/said.js';
import { checkNamedDataDir, checkRunId, durationMs, labels as parseLabels, positiveDurationMs, positiveInt, UsageError } from '../args.js';
import { answers, findHub, HubReader } from '../hub-client.js';
import { keepHeapSmall } from '../lean-heap.js';
import { redactUrl } from '../../core/redact.js';

/** lines read and not yet taken by the hub, past which a follower reads no more for now */
const FOLLOW_MEMORY_LINES = 20_000;

export interface FollowFlags {
  run: string;
  hub?: string;
  data: string;
  name?: string;
  label: string[];
  fromStart?: boolean;
  fromEnd?: boolean;
  partialTimeout: string;
  poll: string;
  untilIdle?: string;
  endOnExit?: boolean;
  sshOption: string[];
  maxLineBytes: string;
  flushTimeout: string;
  releaseAfter: string;
}

export async function followCommand(targets: string[], flags: FollowFlags): Promise<void> {
  keepHeapSmall();
  // a signal before following starts stops it as soon as it has (exit 0, nothing lost)
  let onStop: ((why: string, cancelledBy?: string) => void) | undefined = undefined;
  let stopAsked: string | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (onStop ? onStop(signal) : (stopAsked ??= signal)));
  const runId = checkRunId(flags.run, '--run');
  if (flags.fromStart && flags.fromEnd) throw new UsageError('--from-start and --from-end: choose one');
  checkNamedDataDir(flags.data);
  const partialTimeoutMs = durationMs(flags.partialTimeout, '--partial-timeout');
  const pollMs = positiveDurationMs(flags.poll, '--poll');
  const untilIdleMs = flags.untilIdle === undefined ? undefined : positiveDurationMs(flags.untilIdle, '--until-idle');
  const flushTimeoutMs = durationMs(flags.flushTimeout, '--flush-timeout');
  const releaseAfterMs = positiveDurationMs(flags.releaseAfter, '--release-after');
  const maxLineBytes = positiveInt(flags.maxLineBytes, '--max-line-bytes');
  const labels = parseLabels(flags.label);
  const sshArgs = flags.sshOption.flatMap(splitSshOption);
  const remote = targets.filter((target) => target.startsWith('ssh://'));
  const local = targets.filter((target) => !target.startsWith('ssh://')).map((target) => resolve(target));
  const sshTargets = remote.map((url) => parseSshUrl(url) ?? usage(`${url}: expected ssh://[user@]host[:port]/path`));
  // the remote side follows one name: a glob would be a file literally named `*.log`, waited for forever
  for (const target of sshTargets) {
    if (/[*?]/.test(target.path)) usage(`${target.url}: no globs over ssh (the remote side follows one file): name each file, ssh://host/dir/a.log ssh://host/dir/b.log`);
  }
  const dataDir = resolve(flags.data);
  const warn = (message: string) => process.stderr.write(`runlog: ${message}\n`);
  for (const target of local) {
    if (isGlob(target)) continue;
    const stats = safeStat(target);
    if (stats?.isDirectory()) throw new UsageError(`${target}: a directory; follow its files with a glob, quoted: '${join(target, '*.log')}'`);
    // a pipe (/dev/stdin, a FIFO) has no offsets to resume from: it looked like a name not there yet
    if (stats !== undefined && !stats.isFile()) {
      throw new UsageError(
        `${target}: not a regular file (a pipe, a device): follow reads files by offset; send a pipe's lines with \`runlog run -- <command>\`, or \`curl -T - -H 'Content-Type: text/plain' <hub>/api/runs/${runId}/text\``,
      );
    }
  }

  if (flags.hub === 'none') throw new UsageError('--hub none: follow ships to a hub, it has no local store to write to (name a hub, or start one with `runlog server`)');
  // the URL checked now: a typo is a usage error, not a wait
  const hub = (await findHub(flags.hub || DEFAULTS.hub, false))!;
  const stopped = () => stopAsked !== undefined;
  const cpFile = checkpointPath(dataDir, runId);
  // One follower per run and data directory: two would share the checkpoint's writer key, the hub
  // would take both, and both would number from the same seq (the hub keeps one line of each seq).
  const lock = lockWithPid(dirname(cpFile), `${basename(cpFile, '.json')}.lock`, (pid) => {
    return new UsageError(
      `run ${runId} is followed by another runlog follow (pid ${pid}) on ${dataDir}: stop it first, or follow every file with one command (runlog follow a.log b.log --run ${runId})`,
    );
  });
  const exit = (code: number): never => {
    lock.release();
    process.exit(code);
  };
  const saved = loadCheckpoint(cpFile);
  const writerKey = saved?.writer_key ?? newWriterKey();
  // the writer key is on disk before the run is created with it
  saveCheckpoint(cpFile, {
    version: 1,
    run: runId,
    writer_key: writerKey,
    last_seq: saved?.last_seq ?? 0,
    files: saved?.files ?? [],
    ...(saved?.looked_at === undefined ? {} : { looked_at: saved.looked_at }),
    // the batch a killed follower had in flight: only the hub can say whether it is in (see the
    // resume below); a kill before the next checkpoint must still know of it
    ...(saved?.sending === undefined ? {} : { sending: saved.sending }),
  });

  // the run is ours (or still ours, same writer key) before anything is read: a 409 or 403 stops
  // here. Only `write` is needed: a token that may not read is enough.
  const create = {
    id: runId,
    ...(saved ? {} : { started_at: nowMicros(), command: `runlog follow ${targets.join(' ')}` }),
    ...(flags.name === undefined ? {} : { name: flags.name }),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
  // A hub not up yet (booting, restarting, the follower started with the job) is waited for, as
  // one that goes away later is: the files keep their lines meanwhile. A signal ends the wait
  // (exit 0: nothing was read, a restart starts where this one would have).
  // With --until-idle (a batch job's follower) a hub that never answers is given up on, after
  // that long and 10 s at least, with exit 1: a wrong --hub must not hang the script for ever.
  const giveUpMs = untilIdleMs === undefined ? undefined : Math.max(untilIdleMs, HUB_WAIT_MIN_MS);
  const created = await createWhenUp(hub, writerKey, create, warn, stopped, giveUpMs);
  if (created === 'gave up') {
    warn(`hub ${redactUrl(hub)} did not answer for ${Math.round(giveUpMs! / 1000)} s (--until-idle): nothing was shipped; run this again once it is up, the files are read from where they were`);
    exit(1);
  }
  if (created === undefined) exit(0);
  // a run that was there without a checkpoint (one made before writer keys): number on after its lines
  let lastSeq = saved?.last_seq ?? (created ? 0 : await lastSeqOf(hub, runId, warn));
  // The checkpoint is written as each batch is acknowledged, so the hub is at most a batch ahead of
  // it (a kill between the two). One name read again from its offsets gives the same lines the same
  // seqs (its rotated file, read to its end before the new one, included), and the hub keeps one
  // copy. Several names (or a glob) may interleave differently the second time: a line could then
  // take a seq the hub holds for another line, and be lost. So then, number on after the hub's
  // lines: the lines of that batch may come twice, none goes.
  let repeated = 0;
  let resumeFiles = saved?.files ?? [];
  // a file born after this was not seen by the follower that stopped (FileFollower resumeLookedAt)
  let resumeLookedAt = saved?.looked_at;
  const oneFile = targets.length === 1 && !local.some(isGlob);
  // one file: from the seq of the last record before its offset (what came after it, a progress
  // bar's end say, was delivered as far as the hub is concerned, and is read again with the same
  // seqs). While a rotated file is still in the checkpoint beside the new one, their records may
  // interleave: then from the checkpoint's last seq, as before.
  if (saved !== undefined && oneFile && saved.sending !== undefined) {
    // killed between the hub's answer and the checkpoint: when the batch noted is in, go on after it.
    // Reading again from the older offsets would give its lines their seqs again only if the file
    // were still there as it was: one rotated away or deleted meanwhile made what came next (its
    // "could not be read" line, the new file's lines) take seqs the hub holds, and it dropped them.
    const onHub = (await leaseLastSeq(hub, runId, writerKey)) ?? (await lastSeqOf(hub, runId, warn));
    if (onHub >= saved.sending.last_seq) {
      lastSeq = saved.sending.last_seq;
      resumeFiles = saved.sending.files;
      resumeLookedAt = saved.sending.looked_at;
    }
  }
  // a file let go (rotated away, quiet) holds no records after the seq of its offset, unless it grew
  // while nobody followed: then it is read on, its lines among the other file's. Its records after
  // the current file's seq (it was written while the new file was still empty) would be numbered
  // again for the current file's lines, and the hub, holding those seqs, would drop them.
  const current = resumeFiles.filter((file) => !file.released);
  const first = current.length === 1 ? current[0] : undefined;
  const only = first !== undefined && resumeFiles.every((file) => !file.released || releasedBefore(file, first)) ? first : undefined;
  if (saved !== undefined && oneFile && only?.seq !== undefined) lastSeq = Math.min(lastSeq, only.seq);
  if (saved !== undefined && !oneFile) {
    // the lease answer says it (a write token is enough); an older hub's does not: read it then
    const onHub = (await leaseLastSeq(hub, runId, writerKey)) ?? (await lastSeqOf(hub, runId, warn));
    // killed between the hub's answer and the checkpoint: the batch in flight is in, its offsets hold
    if (saved.sending !== undefined && onHub >= saved.sending.last_seq) {
      lastSeq = saved.sending.last_seq;
      resumeFiles = saved.sending.files;
      resumeLookedAt = saved.sending.looked_at;
    }
    if (onHub > lastSeq) {
      repeated = onHub - lastSeq;
      lastSeq = onHub;
    }
  }
  const checkpoint: FollowCheckpoint = { version: 1, run: runId, writer_key: writerKey, last_seq: lastSeq, files: resumeFiles, ...(resumeLookedAt === undefined ? {} : { looked_at: resumeLookedAt }) };

  let delivered = lastSeq;
  let dirty = false;
  // a full disk is said, never thrown into the shipper (which took it for the hub's failure) or the stop
  const write = checkpointSaver(cpFile, warn);
  const save = () => {
    if (!dirty) return;
    checkpoint.last_seq = delivered;
    checkpoint.files = filesAt(delivered);
    if (files?.lookedAt !== undefined) checkpoint.looked_at = files.lookedAt;
    // a batch still unanswered (stopping, hub away) stays noted: a restart asks the hub about it
    if (checkpoint.sending !== undefined && checkpoint.sending.last_seq <= delivered) delete checkpoint.sending;
    dirty = !write(checkpoint);
  };
  const filesAt = (seq: number, sending = false) => [...(files?.delivered(seq, sending) ?? []), ...ssh.flatMap((follower) => follower.deliveredUpTo(seq, sending))];
  const shipper = new HubShipper({
    hub,
    writerKey: checkpoint.writer_key,
    // no write-ahead log: the checkpoint (written once the hub has the lines) is what resumes a follower
    walDir: undefined,
    finishTimeoutMs: flushTimeoutMs,
    onHubState: hubStateReporter(hub, 'lines wait in the files (read again from the checkpoint)', warn),
    onSending: (seq) => {
      // where the files are once this batch is in: a kill before the checkpoint below still knows
      checkpoint.sending = { last_seq: seq, files: filesAt(seq, true), ...(files?.lookedAt === undefined ? {} : { looked_at: files.lookedAt }) };
      if (!write(checkpoint)) dirty = true;
    },
    onDelivered: (seq) => {
      delivered = seq;
      dirty = true;
      // at once: the hub is never more than this batch ahead of the checkpoint (see the resume above)
      save();
    },
    // the lease (PROTOCOL.md), renewed by the shipper even while the files are quiet: its answer may ask to cancel
    onCancel: (by) => onStop?.('cancelled', by),
  });
  const builder = new RecordBuilder({ stream: runId, sink: shipper, lastSeq, maxLineBytes });
  shipper.start(create);

  // a follower has no WAL: what it read waits in the shipper's memory, so it reads no further
  // while FOLLOW_MEMORY_LINES wait there (a big file from its start, a slow or absent hub)
  const busy = () => shipper.memoryLines >= FOLLOW_MEMORY_LINES;
  const resumeOf = (path: string) => checkpoint.files.filter((file) => file.path === path);
  const files =
    local.length > 0
      ? new FileFollower({
          patterns: local,
          target: builder,
          // a file that appeared while the follower was stopped is new: read whole
          fromEnd: (flags.fromEnd ?? false) && saved === undefined,
          partialTimeoutMs,
          pollMs,
          maxLineBytes,
          busy,
          releaseAfterMs,
          resume: checkpoint.files.filter((file) => !file.path.startsWith('ssh://')),
          ...(resumeLookedAt === undefined ? {} : { resumeLookedAt }),
        })
      : undefined;
  const ssh = sshTargets.map(
    (target) =>
      new SshFollower({
        target,
        lines: builder,
        sshArgs,
        resume: resumeOf(target.url)[0],
        fromEnd: flags.fromEnd ?? false,
        partialTimeoutMs,
        maxLineBytes,
        onState: warn,
        busy,
      }),
  );
  if (repeated > 0) {
    const note = `resumed after the hub's line ${lastSeq}: the last ${repeated} lines it took before this follower stopped were not in its checkpoint, and with several files they may come again`;
    builder.system(note, 'WARNING');
    warn(note);
  }
  files?.start();
  for (const follower of ssh) follower.start();
  // where each file starts, noted before any batch is acknowledged: a follower killed before its
  // first one takes up its files from there (from their end with --from-end), not from their start
  if (saved === undefined) {
    dirty = true;
    save();
  }
  // a name that is not there (yet) is waited for: said once, so a typo is not silence
  for (const target of local) {
    if (expandGlob(target).some((path) => safeStat(path)?.isFile())) continue;
    warn(isGlob(target) ? `${target}: matches no file yet; its files are read as they appear` : noFileYet(target));
  }

  /** `cancelledBy`: the hub asked (a lease answer): the run ends `cancelled`, whatever --end-on-exit says. */
  const stop = async (why: string, cancelledBy?: string) => {
    const end = (flags.endOnExit ?? false) || cancelledBy !== undefined;
    files?.stop(end);
    await Promise.all(ssh.map((follower) => follower.stop(end)));
    const target = builder.lastSeq;
    if (end) {
      const message = cancelledBy === undefined ? undefined : `cancelled by ${cancelledBy}`;
      builder.system(message ?? `follow ended (${why})`, message === undefined ? 'INFO' : 'WARNING');
      const run = await shipper.finish({ status: message === undefined ? 'completed' : 'cancelled', error_message: message ?? null, completed_at: nowMicros() });
      if (!run) warn(`the hub did not take every line before --flush-timeout; the checkpoint keeps what it has`);
    } else {
      const deadline = Date.now() + flushTimeoutMs;
      while (delivered < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (delivered < target) warn(`the hub has lines up to ${delivered} of ${target}; a restart sends the rest`);
    }
    dirty = true;
    save();
    files?.close();
    exit(0);
  };
  let stopping = false;
  onStop = (why, cancelledBy?: string) => {
    if (stopping) return;
    stopping = true;
    void stop(why, cancelledBy);
  };
  if (stopAsked !== undefined) onStop(stopAsked);
  if (untilIdleMs !== undefined) {
    const timer = setInterval(() => {
      const last = Math.max(files?.lastGrowthAt ?? 0, ...ssh.map((follower) => follower.lastGrowthAt));
      // waiting for the hub to take what was read is not idle: the files may hold more
      if (Date.now() - last < untilIdleMs || stopping || busy()) return;
      clearInterval(timer);
      stopping = true;
      void stop(`idle for ${flags.untilIdle}`);
    }, 100);
  }
}

/** A let-go local file of a checkpoint whose records all come before `current`'s seq, and that has not grown since it was read. */
function releasedBefore(file: FileCheckpoint, current: FileCheckpoint): boolean {
  if (file.path.startsWith('ssh://') || file.seq === undefined || current.seq === undefined || file.seq > current.seq) return false;
  const at = locateCheckpointed(resolve(file.path), file);
  return at === undefined ? file.size <= file.offset : (safeStat(at)?.size ?? 0) <= file.offset;
}

/** --until-idle gives up on a hub that never answers after this long at least (a restart or a slow boot is not given up on) */
const HUB_WAIT_MIN_MS = 10_000;

/** createOnHub once the hub answers (waited for with backoff, said once); undefined when `stopped()` ended the wait, 'gave up' after `giveUpMs`. */
async function createWhenUp(
  hub: string,
  writerKey: string,
  body: Record<string, unknown>,
  warn: (message: string) => void,
  stopped: () => boolean,
  giveUpMs: number | undefined,
): Promise<boolean | undefined | 'gave up'> {
  let waitMs = 250;
  let waiting = false;
  const startedAt = Date.now();
  for (;;) {
    if (stopped()) return undefined;
    if (giveUpMs !== undefined && Date.now() - startedAt >= giveUpMs) return 'gave up';
    let reason: string | undefined;
    if (await answers(hub, 3000)) {
      try {
        const created = await createOnHub(hub, writerKey, body);
        if (waiting) warn(`hub ${redactUrl(hub)} answers`);
        return created;
      } catch (error) {
        if (error instanceof UsageError) throw error; // the hub refused: waiting would not help
        reason = (error as Error).message; // gone again between the two, or its store away
      }
    }
    if (!waiting) {
      const start = hub === DEFAULTS.hub ? ' (start one with `runlog server`, or name one with --hub)' : '';
      const what = reason === undefined ? 'does not answer yet' : `cannot take the run yet (${reason})`;
      warn(`hub ${redactUrl(hub)} ${what}; waiting for it${start}: the files keep their lines meanwhile`);
      waiting = true;
    }
    const until = Math.min(Date.now() + waitMs, giveUpMs === undefined ? Infinity : startedAt + giveUpMs);
    while (Date.now() < until && !stopped()) await new Promise((r) => setTimeout(r, 50));
    waitMs = Math.min(waitMs * 2, 10_000);
  }
}

/** Creates (or takes up again) the run with our writer key; true when it is new. */
async function createOnHub(hub: string, writerKey: string, body: Record<string, unknown>): Promise<boolean> {
  const response = await hubRequest('POST', `${hub}/api/runs`, { headers: { 'x-runlog-writer': writerKey }, body: JSON.stringify(body), timeoutMs: 10_000 });
  if (response.status === 409) throw new UsageError(`--run: ${await hubError(response)} (another writer's run, or this follower's checkpoint was lost)`);
  // a hub whose store is away, full or busy for now: waited for (createWhenUp), as for its lines
  if (response.status >= 500 || response.status === 429) throw new Error(`${response.status}: ${await hubError(response)}`);
  if (!response.ok) throw new UsageError(await hubError(response));
  return response.status === 201;
}

/** The run's highest stored seq, from a lease renewal (a write token is enough); undefined when the hub does not say (an older hub). */
async function leaseLastSeq(hub: string, runId: string, writerKey: string): Promise<number | undefined> {
  try {
    const { ok, text } = await hubPost(`${hub}/api/runs/${encodeURIComponent(runId)}/lease`, '{}', { 'x-runlog-writer': writerKey }, 10_000);
    const seq = ok ? jsonOf<{ last_seq?: unknown }>(text)?.last_seq : undefined;
    return typeof seq === 'number' ? seq : undefined;
  } catch {
    return undefined;
  }
}

async function lastSeqOf(hub: string, runId: string, warn: (message: string) => void): Promise<number> {
  try {
    return (await new HubReader(hub).queryLogs(runId, { tail: 1 })).records[0]?.seq ?? 0;
  } catch (error) {
    warn(`run ${runId} exists but its lines cannot be read (${(error as Error).message}); numbering from 1`);
    return 0;
  }
}

/** `-o Foo=bar` or `-i key` in one value, split like a shell would not need to. */
function splitSshOption(value: string): string[] {
  return value.trim().split(/\s+/).filter(Boolean);
}

function usage(message: string): never {
  throw new UsageError(message);
}
