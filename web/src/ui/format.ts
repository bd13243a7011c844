/** How numbers and times read in the UI: short, and the same everywhere. */

const numberFormat = new Intl.NumberFormat('en-US');

export function count(value: number): string {
  return numberFormat.format(value);
}

/** 0.4 s, 12.3 s, 4m 05s, 2h 03m, 3d 4h */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad(Math.floor(seconds % 60))}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** How long ago, coarse: 4 s ago, 3 min ago, 2 h ago, 5 d ago. */
export function ago(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

export function parseTime(iso: string | null | undefined): number | null {
  if (iso === null || iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** 14:03:27.512, local time: the log's own clock column */
export function clock(iso: string): string {
  const ms = parseTime(iso);
  if (ms === null) return iso;
  const date = new Date(ms);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** Today: 14:03:27; another day: Nov 23 14:03 */
export function when(iso: string | null | undefined): string {
  const ms = parseTime(iso);
  if (ms === null) return '';
  const date = new Date(ms);
  const now = new Date();
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (date.toDateString() === now.toDateString()) return time;
  const day = date.toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
  return date.getFullYear() === now.getFullYear() ? `${day} ${time.slice(0, 5)}` : `${day} ${date.getFullYear()}`;
}

/**
 * The full local date-time with its zone, for titles ("12/3/2026, 8:04:39 PM UTC"): the times on
 * screen are the browser's local ones, and a title without a zone did not say so (a log row's
 * title is an ISO time in UTC).
 */
export function fullTime(iso: string | null | undefined): string {
  const ms = parseTime(iso);
  return ms === null ? '' : new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' });
}

/** MiB from nvidia-smi → "22.5 GiB" / "812 MiB" */
export function mib(value: number | null | undefined): string {
  if (value === null || value === undefined) return '?';
  return value >= 1024 ? `${(value / 1024).toFixed(1)} GiB` : `${Math.round(value)} MiB`;
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}

/** Seconds a run has taken so far (live while it runs). */
export function runSeconds(run: { duration_seconds: number | null; started_at: string | null; status: string }, now: number): number | null {
  if (run.duration_seconds !== null) return run.duration_seconds;
  const started = parseTime(run.started_at);
  if (started === null || run.status !== 'running') return null;
  return Math.max(0, (now - started) / 1000);
}
