/**
 * Globs for `runlog follow 'logs/*.log'`: `*`, `?` and `[...]` within a path segment (no `**`).
 * A pattern without them names one file, followed whether or not it exists yet.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** The deepest directory of the pattern without a wildcard: the one to watch. */
export function globBase(pattern: string): string {
  const absolute = resolve(pattern);
  if (!isGlob(absolute)) return dirname(absolute);
  const segments = absolute.split(sep);
  const first = segments.findIndex((segment) => isGlob(segment));
  return segments.slice(0, first).join(sep) || sep;
}

function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] ?? '';
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close === -1) source += '\\[';
      else {
        const body = segment.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = close;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  // like a shell, `*` does not match a leading dot
  return new RegExp(`^(?!\\.)${source}$`);
}

/** The regular files matching a pattern now, sorted. */
export function expandGlob(pattern: string): string[] {
  const absolute = isAbsolute(pattern) ? pattern : resolve(pattern);
  if (!isGlob(absolute)) return [absolute];
  return expandSegments(absolute.split(sep).slice(1), isFile);
}

/** The directories the files of a pattern are in (or would be), there now, sorted. */
export function globDirs(pattern: string): string[] {
  const dir = dirname(isAbsolute(pattern) ? pattern : resolve(pattern));
  if (!isGlob(dir)) return [dir];
  return expandSegments(dir.split(sep).slice(1), isDirectory);
}

/** Does `path` (absolute) have a name the pattern matches (whether or not it is there)? */
export function globMatches(pattern: string, path: string): boolean {
  const absolute = isAbsolute(pattern) ? pattern : resolve(pattern);
  const want = absolute.split(sep);
  const have = resolve(path).split(sep);
  if (want.length !== have.length) return false;
  return want.every((segment, i) => (isGlob(segment) ? segmentRegExp(segment).test(have[i] ?? '') : segment === have[i]));
}

function expandSegments(segments: string[], keepLast: (path: string) => boolean): string[] {
  let current: string[] = [sep];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const next: string[] = [];
    for (const dir of current) {
      if (!isGlob(segment)) {
        next.push(join(dir, segment));
        continue;
      }
      const matcher = segmentRegExp(segment);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) if (matcher.test(name)) next.push(join(dir, name));
    }
    current = last ? next.filter(keepLast) : next;
  }
  return current.sort();
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
