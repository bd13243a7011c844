/**
 * StoreSink: a run's records straight into a store, for a runner that found no hub. Batched in
 * transactions (every 50 ms or 1,000 lines), since one transaction per line would cost a WAL
 * commit per line.
 */
import { DEFAULTS } from '../core/config.js';
import type { LogRecord, ProgressUpdate } from '../core/record.js';
import type { Run, RunFinish, RunUpsert, Store } from '../store/store.js';
import type { RunSink } from './sink.js';

export class StoreSink implements RunSink {
  private pending: LogRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  private runId = '';
  /** lines the store refused (disk full, locked past the timeout): counted, never thrown at the command */
  lost = 0;

  constructor(
    private readonly store: Store,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  start(run: RunUpsert): void {
    this.runId = run.id;
    this.writing = this.store.upsertRun(run).catch((error: Error) => this.warn(`cannot store run ${run.id}: ${error.message}`));
  }

  record(record: LogRecord): void {
    this.pending.push(record);
    if (this.pending.length >= DEFAULTS.flushLines) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), DEFAULTS.flushMs);
  }

  progress(_update: ProgressUpdate): void {
    // nobody watches live without a hub
  }

  async finish(finish: RunFinish): Promise<Run | undefined> {
    this.flush();
    await this.writing;
    try {
      if (finish.diagnostics !== undefined) await this.store.setDiagnostics(this.runId, finish.diagnostics);
      return await this.store.finishRun(this.runId, finish);
    } catch (error) {
      this.warn(`cannot store the end of run ${this.runId}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Records for a run whose start was stored elsewhere (a hub that went away): stored here too. */
  async append(records: readonly LogRecord[]): Promise<void> {
    for (const record of records) this.pending.push(record);
    this.flush();
    await this.writing;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.writing
      .then(() => this.store.appendRecords(this.runId, batch))
      .catch((error: Error) => {
        if (this.lost === 0) this.warn(`cannot store lines: ${error.message}`);
        this.lost += batch.length;
      });
  }
}
