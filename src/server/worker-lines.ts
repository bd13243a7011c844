/**
 * WorkerLines: the hub numbers a worker's own lines (stream `worker:<id>`).
 *
 * Why not the worker's seq, as for runs: the seeds' workers send `{timestamp, level, message,
 * task_id, metadata}` with no seq at all, and a worker that restarts counts from 1 again; taking
 * its seq as the line's identity would drop a new life's lines as "already stored" (issue 10).
 *
 * The rule, per worker stream:
 * - every line the hub keeps gets the stored seq: one more than the stream's last;
 * - a client's `seq`, when it sends one, only tells a resent line (a heartbeat replayed from its
 *   spool after an answer it never got) from a new one. A line is a resend when its client seq is
 *   ≤ the last client seq seen for the worker AND its timestamp is ≤ the newest client timestamp
 *   seen, both before this heartbeat (within one, a line is a repeat only of one with its seq: its
 *   lines may come out of seq order). A new life numbers from 1 again but writes newer lines, so
 *   it is never taken for one;
 * - a line without a seq is always new (a client that sends none cannot be told apart when it
 *   resends);
 * - a client that says which life of the worker sent the heartbeat (`session`: runlog's worker
 *   and the Python client draw one per process, and a spooled heartbeat keeps its own) removes
 *   the need for the clock: a heartbeat whose session is not the one of the worker's last stored
 *   line is a new life, and none of its lines is a resend, even when its clock is behind the old
 *   life's (a worker moved to another machine). The session is stored with each line
 *   (`attrs.runlog_session`), in the same commit: every hub, and a restarted one, reads it from the
 *   stream's last line, and a heartbeat that failed leaves it as it was (its retry is still the
 *   new life's first). A heartbeat of the last line's session, or without one, goes by the rule
 *   above.
 *
 * What the hub remembers (last stored seq, last client seq, newest client timestamp) is kept in
 * memory and changed only once the store has committed the lines, so a heartbeat that failed can
 * be resent whole. After a hub restart it starts again from the stream's last stored line (its seq
 * and timestamp stand for the client's): a resend of what was stored before is still a resend,
 * since it is no newer than that line. The stored seq goes on from the highest the stream has had
 * (`store.lastSeq`: retention keeps it when it deletes the lines), so a seq never goes back, even
 * when every line of the worker was deleted.
 *
 * Heartbeats of one worker are handled one at a time (a chain of promises per stream), so two
 * heartbeats in flight at once cannot be given the same seqs. Hubs sharing a database number a
 * worker's lines one at a time too (`store.lockStream`), each from the stream's last stored line
 * and what it remembers (`merged`): lines another hub stored meanwhile are numbered after, and
 * their last one stands for what that hub saw of the sender (a heartbeat resent through this hub
 * after the other stored it is still a resend). Should a seq be taken all the same (a lock lost
 * with its connection), the store keeps one of the two records; the lines it did not keep are
 * checked again against what was stored and numbered after it. This holds for a worker that sends
 * its heartbeats in order, one at a time, as runlog's do: a line that reaches the hub after a
 * newer one of the same worker is taken for a resend.
 */
import type { LogRecord } from '../core/record.js';
import type { Store } from '../store/store.js';

interface WorkerLinesState {
  /** the last seq stored in the stream */
  lastSeq: number;
  /** the last client seq seen, and the newest client timestamp (µs) */
  clientSeq: number;
  clientTs: number;
  /** the session of the last stored line (undefined: it said none) */
  session: string | undefined;
}

/** A heartbeat's lines: `seq` of each record is the client's (0: none). */
export interface WorkerBatch {
  records: readonly LogRecord[];
  /** the life of the worker that sent them, when it says */
  session?: string | undefined;
}

const MAX_RENUMBER = 10; // rounds of renumbering lines whose seq another hub took meanwhile
/** where a worker line keeps the session that sent it */
export const SESSION_ATTR = 'runlog_session';

/**
 * What this hub remembers, brought up to what is stored: lines stored past its last seq came
 * through another hub, and their last one stands for what that hub saw of the sender.
 */
function merged(remembered: WorkerLinesState, stored: WorkerLinesState): WorkerLinesState {
  if (stored.lastSeq <= remembered.lastSeq) return remembered;
  // another life since: what this hub remembers of the old one says nothing of it
  if (stored.session !== remembered.session) return stored;
  return { ...stored, clientSeq: Math.max(remembered.clientSeq, stored.clientSeq), clientTs: Math.max(remembered.clientTs, stored.clientTs) };
}

/** A line its sender already sent: no newer, by its seq and its time, than the last line seen from it. */
function isResend(state: WorkerLinesState, clientSeq: number, timestamp: number): boolean {
  return clientSeq > 0 && clientSeq <= state.clientSeq && timestamp <= state.clientTs;
}

export class WorkerLines {
  private readonly states = new Map<string, WorkerLinesState>();
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly store: Store) {}

  /**
   * Stores a heartbeat's lines in `stream`; the records returned are those stored, with the seq
   * the hub gave them, in order.
   */
  append(stream: string, batch: WorkerBatch): Promise<LogRecord[]> {
    if (batch.records.length === 0) return Promise.resolve([]);
    return this.oneAtATime(stream, () => this.appendNow(stream, batch));
  }

  private oneAtATime<T>(stream: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(stream) ?? Promise.resolve();
    const result = previous.then(task);
    const settled = result.catch(() => {});
    this.chains.set(stream, settled);
    void settled.then(() => {
      if (this.chains.get(stream) === settled) this.chains.delete(stream);
    });
    return result;
  }

  private async appendNow(stream: string, { records, session }: WorkerBatch): Promise<LogRecord[]> {
    // on a database several hubs share, one hub at a time numbers a worker's lines, on from what
    // is stored now: what this hub remembers may be behind another hub's lines, or ahead of a
    // retention that deleted them all
    const unlock = await this.store.lockStream?.(stream);
    try {
      const remembered = this.states.get(stream);
      let known = remembered === undefined ? await this.load(stream) : unlock === undefined ? remembered : merged(remembered, await this.load(stream));
      // a new life: nothing it sends was sent before, whatever its clock says
      if (session !== undefined && session !== known.session) known = { ...known, clientSeq: 0, clientTs: 0 };
      return await this.numberAndStore(stream, records, known, session);
    } finally {
      await unlock?.();
    }
  }

  private async numberAndStore(stream: string, records: readonly LogRecord[], known: WorkerLinesState, session: string | undefined): Promise<LogRecord[]> {
    const next = { ...known, session };
    // each line with the seq its sender gave it (0: none), which numbering replaces. A resend is
    // told against what was known before this batch, a line repeated within it by its seq: lines of
    // one heartbeat out of seq order (3, 1, 2) were each taken for a resend of the one before
    let pending: { record: LogRecord; clientSeq: number }[] = [];
    const inBatch = new Set<number>();
    for (const record of records) {
      if (isResend(known, record.seq, record.timestamp)) continue;
      if (record.seq > 0) {
        if (inBatch.has(record.seq)) continue;
        inBatch.add(record.seq);
        next.clientSeq = Math.max(next.clientSeq, record.seq);
        next.clientTs = Math.max(next.clientTs, record.timestamp);
      }
      pending.push({ record, clientSeq: record.seq });
    }
    const stored: LogRecord[] = [];
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_RENUMBER) throw new Error(`worker lines of ${stream}: seqs still taken after ${MAX_RENUMBER} rounds`);
      if (round > 0) {
        // another process stored lines of this worker meanwhile (without the lock: a broken lock
        // connection): what it stored may be these very lines (a heartbeat resent through it), so
        // they are checked again against what was known before this batch and what is stored now,
        // never against this batch's own seqs (each line would look like a resend of itself)
        const now = await this.load(stream);
        next.lastSeq = Math.max(next.lastSeq, now.lastSeq);
        const before = merged(known, now);
        pending = pending.filter(({ record, clientSeq }) => !isResend(before, clientSeq, record.timestamp));
        if (pending.length === 0) break;
      }
      const first = next.lastSeq + 1;
      const numbered = pending.map(({ record }, index) => ({ ...record, seq: first + index, ...(session === undefined ? {} : { attrs: { ...record.attrs, [SESSION_ATTR]: session } }) }));
      const inserted = await this.store.appendRecords(stream, numbered);
      stored.push(...inserted);
      next.lastSeq = first + numbered.length - 1;
      if (inserted.length === numbered.length) break;
      const kept = new Set(inserted.map((record) => record.seq));
      pending = pending.filter((_, index) => !kept.has(first + index));
    }
    this.states.set(stream, next);
    return stored;
  }

  private async load(stream: string): Promise<WorkerLinesState> {
    // without the line count a page carries (a count of all the worker's rows, on PostgreSQL)
    const last = this.store.lastRecord ? await this.store.lastRecord(stream) : (await this.store.queryLogs(stream, { tail: 1 })).records[0];
    // the highest seq the worker's lines have had, those retention deleted included: numbering
    // from the last line left would give a seq again, and a follower would skip its line as seen
    const highest = await this.store.lastSeq(stream);
    if (last === undefined) return { lastSeq: highest, clientSeq: 0, clientTs: 0, session: undefined };
    const session = last.attrs?.[SESSION_ATTR];
    return { lastSeq: Math.max(last.seq, highest), clientSeq: last.seq, clientTs: last.timestamp, session: typeof session === 'string' ? session : undefined };
  }
}
