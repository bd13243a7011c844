/**
 * Every bound the hub puts on what it is sent, in one literal (docs/api.md, "Limits").
 *
 * A value past its bound is a 400 that names the field (`labels.team`, `records[3].attrs`), never
 * a 500 and never stored: a stored value is returned by every list that shows it, so an unbounded
 * one costs every reader. The one exception is a line's message, which is cut at the line limit and
 * flagged `truncated`, because what a job printed is never refused.
 *
 * Text is measured in UTF-8 bytes, except `error_message` (characters, as the runner cuts it).
 * JSON depth counts objects and arrays: `{}` is depth 1, `{"a":{"b":1}}` depth 2.
 */

/** the largest double below 10000-01-01 in µs: µs are exact up to 2255 (2^53), to 32 µs after */
const LAST_MICROS_BEFORE_10000 = 253_402_300_799_999_968;

export const LIMITS = {
  idChars: 128, // run, task and worker ids: [A-Za-z0-9][A-Za-z0-9._:-]{0,127}
  workerIdChars: 256, // a worker id read back (and taken by the seeds' function): characters (code points), no control characters
  nameBytes: 256, // a run's name
  commandBytes: 64 * 1024, // 64 KiB: a run's command; a task's command, its arguments joined by spaces
  commandArgs: 4096, // arguments in a task's command
  setupSteps: 64, // a task's setup commands
  setupStepBytes: 64 * 1024, // 64 KiB: one setup command
  envVars: 256, // variables in a task's env
  envNameBytes: 256, // one variable's name
  envBytes: 64 * 1024, // 64 KiB: a task's env, names and values together
  cwdBytes: 4096, // a task's working directory
  logPathBytes: 4096, // a run's log_path
  labels: 64, // labels on a run or a task
  labelKeyBytes: 256,
  labelValueBytes: 256,
  jsonDepth: 8, // attrs, metadata, heartbeat stats: levels of objects and arrays
  jsonBytes: 16 * 1024, // 16 KiB: attrs, metadata, heartbeat stats, serialized
  gpus: 64, // entries in a heartbeat's gpus
  gpuBytes: 4 * 1024, // 4 KiB: one gpus entry, serialized (depth ≤ jsonDepth)
  vramMb: 2 ** 31 - 1, // a heartbeat's vram_total_mb, vram_used_mb: MB, a 32-bit integer's worth (2 PB)
  diagnosticsDepth: 16, // a failed run's diagnostics (containers → their last lines …)
  diagnosticsBytes: 4 * 1024 * 1024, // 4 MiB, serialized
  loggerBytes: 256, // a line's logger name
  errorMessageChars: 1000, // a run's error_message
  signalChars: 32, // a run's signal name
  exitCodeAbs: 2 ** 31 - 1, // a run's exit_code fits a 32-bit integer
  batchRecords: 10_000, // records (or heartbeat logs, or progress updates) in one request
  queryTextChars: 1000, // a text query parameter (q, source_type, …)
  tailLines: 10_000, // `?tail=` of a run's lines and of its live stream's backlog (and `?limit=` of its lines)
  timestampChars: 64, // an ISO timestamp as text
  tokenExpiresMs: 100 * 365 * 86_400_000, // 100 years (36500d): a token's expires
  leaseS: { min: 1, max: 3600 }, // a run's lease_s: seconds, an integer
  cancelByChars: 128, // who asks to cancel (`by`)
  heartbeatIntervalS: { min: 1, max: 3600 }, // a worker's heartbeat_interval_s, on heartbeats and claims
  timestampMicros: { min: 0, max: LAST_MICROS_BEFORE_10000 }, // 1970-01-01 … 9999-12-31, as µs since the epoch
} as const;

/**
 * The heartbeat_interval_s a worker reports for a beat every `ms`: within the bounds above. One
 * beating faster than once a second reports 1 s, which only makes the hub wait longer before it
 * calls the worker stale, never sooner.
 */
export function reportedIntervalS(ms: number): number {
  const { min, max } = LIMITS.heartbeatIntervalS;
  return Math.min(max, Math.max(min, ms / 1000));
}
