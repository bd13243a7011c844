/**
 * The `file:line` of the code that called the logger, for the debug format. It costs a stack
 * capture (a few µs), which is why the production format never asks for it.
 */
import { fileURLToPath } from 'node:url';

/**
 * Files whose frames are wrappers around the logger (console capture): the caller is above them.
 * Each is kept as a URL and as a path, the two ways a stack names a file, so that frames are
 * compared as they are written, with no URL parsing per call.
 */
const wrapperFiles = new Set<string>();

/** Frames in the module at `moduleUrl` (pass `import.meta.url`) are skipped when finding a caller. */
export function skipFramesIn(moduleUrl: string): void {
  wrapperFiles.add(moduleUrl);
  if (moduleUrl.startsWith('file:')) wrapperFiles.add(fileURLToPath(moduleUrl));
}

/**
 * `basename:line` of the first frame above `below` (the logging method: it and everything it
 * called are left out) that is not in a wrapper file; `?` when the stack says nothing usable.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- V8's captureStackTrace takes any function
export function callsite(below: Function): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 3; // the caller, or a console wrapper and its caller, and one spare
  try {
    Error.captureStackTrace(holder, below);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const frames = (holder.stack ?? '').split('\n');
  for (let i = 1; i < frames.length; i++) {
    const location = frameLocation(frames[i] as string);
    if (location === undefined || wrapperFiles.has(location.file)) continue;
    return `${basename(location.file)}:${location.line}`;
  }
  return '?';
}

/** `    at fn (file:///a/b.js:12:5)` or `    at /a/b.js:12:5` → { file: 'file:///a/b.js' or '/a/b.js', line: '12' } */
function frameLocation(frame: string): { file: string; line: string } | undefined {
  const text = frame.trim();
  const open = text.endsWith(')') ? text.lastIndexOf('(') : -1;
  const where = open >= 0 ? text.slice(open + 1, -1) : text.replace(/^at (async )?/, '');
  const match = /^(.*):(\d+):\d+$/.exec(where);
  if (!match?.[1] || !match[2]) return undefined;
  return { file: match[1], line: match[2] };
}

/** The last part of a path or a file URL (decoded: `my%20job.js` is `my job.js`). */
function basename(file: string): string {
  const name = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  if (!name.includes('%')) return name;
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
