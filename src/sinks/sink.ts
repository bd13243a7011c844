/** Where a run's records go: the hub (shipper) or, with no hub, the local store. */
import type { RecordSink } from '../pipeline/records.js';
import type { Run, RunFinish, RunUpsert } from '../store/store.js';

export interface RunSink extends RecordSink {
  start(run: RunUpsert): void;
  /** Delivers everything, then the run's end. Resolves with the run as stored, when it could be. */
  finish(finish: RunFinish): Promise<Run | undefined>;
  /** lines lost for good (disk full and not delivered): counted, never thrown at the command */
  readonly lost?: number;
  /** writes what waits for the disk now (the WAL), before the log file writes the same lines */
  flushDurable?(): void;
  /** the hub did not take the end: the end kept for later delivery (the WAL) becomes this one */
  rewriteEnd?(finish: RunFinish): void;
}
