/**
 * Replay: the WALs that runners left behind (killed, or gone while the hub was away) → the hub.
 * `runlog sync` runs it, and the next `runlog run` / `runlog worker` on the data directory starts
 * it in the background.
 *
 * A WAL is taken when its owner is dead (pid + start time, `owner.ts`) or is another sync (two
 * deliveries at once only resend lines: the hub keeps one per (stream, seq)). For each run, as its
 * writer (the writer key from the WAL's metadata): create the run (an idempotent retry for the
 * hub), send every line after the acknowledged seq, in order, then the run's end, or, when the
 * runner died before its command ended, `failed` "runner lost"; then delete the WAL. A hub that
 * does not answer (or is full: 5xx, 507) is retried with backoff until `timeoutMs`, then the run
 * waits for the next sync. A refused create (a 4xx) is recorded in the WAL and never sent again;
 * but not a 404: no runlog hub refuses a create with it, it is a wrong URL (the bare host of a hub
 * behind a proxy at a sub-path) or a proxy's while the hub restarts, and the run waits for a sync
 * with the right URL.
 */
import { rmSync } from 'node:fs';
import { BatchBodyWriter } from '../core/batch-wire.js';
import { isAlive, self } from '../pipeline/spool/owner.js';
import { listWals, readWalMeta, WalReader, walDir, writeMeta, type WalMeta } from '../pipeline/spool/wal.js';
import { hubMessage, hubRequest, notTheHub } from './hub-http.js';
import { redactUrl } from '../core/redact.js';

export interface ReplayOptions {
  dataDir: string;
  /** send to this hub instead of the one each WAL names */
  hub?: string;
  /** how long a hub that does not answer is retried, per run */
  timeoutMs?: number;
  log?: (message: string) => void;
}

export interface ReplayedRun {
  id: string;
  hub: string;
  /** lines the hub took from this sync (not those it had already) */
  lines: number;
  /** lines sent again that the hub had already (their earlier delivery's answer was lost): stored once */
  already?: number;
  /** how the run ended on the hub, or why it is still waiting */
  outcome: 'ended' | 'runner lost' | 'refused' | 'waiting';
  note?: string;
}

const PAGE_LINES = 5000;
const PAGE_BYTES = 8 * 1024 * 1024;

class HubError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function replayWals(options: ReplayOptions): Promise<ReplayedRun[]> {
  const log = options.log ?? (() => {});
  const done: ReplayedRun[] = [];
  // hub → why its runs wait: the next runs to it would only wait as long for the same answer
  const unreachable = new Map<string, string>();
  for (const wal of listWals(walDir(options.dataDir))) {
    const listed = wal.meta;
    if (isRefused(listed)) {
      log(`run ${wal.id}: the hub refused it (${listed.refused}); not sent again (${wal.file})`);
      continue;
    }
    if (listed.owner.kind !== 'sync' && isAlive(listed.owner)) continue; // its runner is still at it
    if (listed.owner.pid === process.pid) continue;
    // read again now that its owner is known gone: the list was read before the runs before this
    // one were sent (seconds, with a slow hub), and a runner that ended meanwhile wrote its end
    const meta = readWalMeta(wal.metaFile);
    // delivered by its runner after all (the files are gone), or taken by another sync meanwhile
    if (meta === undefined || meta.owner.pid !== listed.owner.pid || isRefused(meta)) continue;
    delete meta.refused; // a 404 an older sync took for a refusal (isRefused)
    const hub = (options.hub ?? meta.hub).replace(/\/+$/, '');
    const why = unreachable.get(hub);
    if (why !== undefined) {
      done.push({ id: wal.id, hub, lines: 0, outcome: 'waiting', note: why });
      continue;
    }
    const ownerDied = meta.owner.kind !== 'sync' ? meta.owner.pid : undefined;
    meta.owner = self('sync');
    saveMeta(wal.metaFile, meta);
    // made here: the lines the hub took before it stopped answering (full, gone) count as sent
    const progress: ReplayedRun = { id: wal.id, hub, lines: 0, outcome: 'ended' };
    const run = await replayOne(wal.file, wal.metaFile, meta, progress, ownerDied, options).catch((error: Error): ReplayedRun => {
      // a 404 is the URL's (notTheHub): the hub's other runs would get it too
      if (error instanceof HubError && error.status === 404) unreachable.set(hub, error.message);
      else if (!(error instanceof HubError) || !isRefusal(error.status)) unreachable.set(hub, 'hub unreachable');
      return { id: wal.id, hub, lines: progress.lines, outcome: 'waiting', note: error.message };
    });
    done.push(run);
    log(describe(run));
  }
  return done;
}

function describe(run: ReplayedRun): string {
  const what = { ended: 'ended', 'runner lost': 'failed: runner lost', refused: 'refused by the hub', waiting: 'still waiting' }[run.outcome];
  const already = run.already ? ` (and ${run.already} it had already)` : '';
  return `run ${run.id}: ${run.lines} lines sent to ${redactUrl(run.hub)}${already}, ${what}${run.note ? ` (${run.note})` : ''}`;
}

async function replayOne(file: string, metaFile: string, meta: WalMeta, result: ReplayedRun, ownerDied: number | undefined, options: ReplayOptions): Promise<ReplayedRun> {
  const hub = result.hub;
  const id = meta.run.id;
  const path = `/api/runs/${encodeURIComponent(id)}`;
  const send = (route: string, body: string | Buffer) => post(hub, route, body, meta.writer_key, options);
  const bodies = new BatchBodyWriter();
  /** the run as the hub made it; undefined when it had it already */
  const create = async (): Promise<{ line_count?: number } | undefined> => {
    try {
      return (await send('/api/runs', JSON.stringify(meta.run))) as { line_count?: number } | undefined;
    } catch (error) {
      if (error instanceof HubError && error.status === 409) return undefined; // it exists: its lines may still come
      // not the hub's answer about this run (it creates any run it is sent): the URL is not the hub's API
      if (error instanceof HubError && error.status === 404) throw new HubError(404, notTheHub(hub));
      // a refusal, not a hub that does not answer (status 0) or cannot take it now
      if (error instanceof HubError && isRefusal(error.status)) {
        meta.refused = hubMessage(error.message);
        saveMeta(metaFile, meta);
      }
      throw error;
    }
  };
  try {
    await create();
  } catch (error) {
    if (meta.refused !== undefined) return { ...result, outcome: 'refused', note: meta.refused };
    throw error;
  }
  let reader = new WalReader(file);
  let recreated = false;
  try {
    let from = meta.acked_seq + 1;
    let page = reader.next(from, PAGE_LINES, PAGE_BYTES);
    for (;;) {
      if (page.json.length > 0) {
        let taken = 0;
        try {
          const answer = (await send(`${path}/logs`, bodies.write(page.json))) as { inserted?: unknown } | undefined;
          taken = typeof answer?.inserted === 'number' ? answer.inserted : page.json.length;
        } catch (error) {
          if (!(error instanceof HubError)) throw error;
          // the hub lost the run (a new data directory, a `runlog rm`): made again, then the same
          // page again (the reader has moved past it: it is kept, not read anew). Twice on one
          // page is no hub's answer (a proxy that routes /api/runs and not its lines): said, not looped on
          if (error.status === 404 && !recreated) {
            recreated = true;
            const made = await create();
            if (made?.line_count === 0 && meta.acked_seq > 0) {
              // made again empty: what the hub had taken is gone with it; all of it again, from the WAL's first line
              reader.close();
              reader = new WalReader(file);
              from = 1;
              page = reader.next(from, PAGE_LINES, PAGE_BYTES);
              const first = page.seqs[0] ?? 1;
              if (first > 1) result.note = `the hub no longer had the run's first ${first - 1} lines (they are in the run's log file)`;
            }
            continue;
          }
          if (error.status === 404) throw new HubError(404, `the hub at ${redactUrl(hub)} took run ${id} and answered 404 for its lines: is it the hub's URL? (a proxy that routes only some of its paths?)`);
          // the run ended on the hub and takes no more lines (409), or its id is another writer's
          // now (a run made again under it): nothing a retry would change. A 403 for a token
          // without the write scope is not that: the run waits for a better token
          if (error.status === 409 || (error.status === 403 && error.message.includes('"NOT_THE_WRITER"'))) {
            result.note = `the hub refuses its lines: ${hubMessage(error.message)}`;
            break;
          }
          throw error;
        }
        recreated = false;
        result.lines += taken;
        if (taken < page.json.length) result.already = (result.already ?? 0) + page.json.length - taken;
        from = page.seqs.at(-1)! + 1;
        meta.acked_seq = from - 1;
        saveMeta(metaFile, meta);
      }
      if (page.atEnd) break;
      page = reader.next(from, PAGE_LINES, PAGE_BYTES);
    }
  } finally {
    reader.close();
  }
  const end = meta.end ?? {
    path: 'finish' as const,
    body: { status: 'failed', exit_code: null, error_message: `runner lost (its runner, pid ${ownerDied ?? '?'}, died before the command ended; lines delivered by runlog sync)` },
  };
  if (meta.end === undefined) result.outcome = 'runner lost';
  try {
    await send(end.path === 'release' ? `/api/tasks/${encodeURIComponent(id)}/release` : `${path}/finish`, JSON.stringify(end.body));
  } catch (error) {
    // a 4xx: the hub ended the run otherwise (cancelled, a task no longer held): the lines are there
    if (!(error instanceof HubError) || !isRefusal(error.status)) throw error;
    result.note ??= `its end was not taken: ${hubMessage(error.message)}`;
  }
  rmSync(file, { force: true });
  rmSync(metaFile, { force: true });
  return result;
}

/**
 * The hub refused the run for good. Not a 404 an older sync recorded as a refusal (a runlog hub's
 * "no route POST /api/runs", or a proxy's page, kept as "404 …"): that run waits for the right URL.
 */
export function isRefused(meta: WalMeta): boolean {
  const refused = meta.refused;
  return refused !== undefined && !refused.startsWith('no route POST /api/runs') && !refused.startsWith('404 ');
}

/** A 4xx a retry would not change (not 408, 429); 0 is a hub that did not answer, 5xx and 507 one that cannot take it now. */
function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** The meta as far as the disk takes it: a full disk only means resending more next time. */
function saveMeta(file: string, meta: WalMeta): void {
  try {
    writeMeta(file, meta, false);
  } catch {
    // acked_seq lags; resending is harmless
  }
}

/** POST with the writer key; retries what a retry may cure (network, 5xx, 507, 408, 429) until the deadline. */
async function post(hub: string, route: string, body: string | Buffer, writerKey: string, options: ReplayOptions): Promise<unknown> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-runlog-writer': writerKey };
  for (let backoff = 100; ; backoff = Math.min(backoff * 2, 2000)) {
    let error: HubError;
    try {
      const response = await hubRequest('POST', `${hub}${route}`, { headers, body, timeoutMs: 10_000 });
      const text = response.text;
      if (response.ok) return text === '' ? undefined : JSON.parse(text);
      error = new HubError(response.status, `${response.status} ${text.slice(0, 500)}`);
      if (isRefusal(response.status)) throw error;
    } catch (caught) {
      if (caught instanceof HubError && isRefusal(caught.status)) throw caught;
      error = caught instanceof HubError ? caught : new HubError(0, `hub ${redactUrl(hub)} unreachable: ${(caught as Error).message}`);
    }
    if (Date.now() + backoff > deadline) throw error;
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }
}
