/**
 * Parts of the remote script (remote.ts) run by the real sh here, where a step can be made to
 * happen between two of its reads.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../file/checkpoint.js';
import { remoteScript } from './remote.js';

/** The script's lines from the one starting with `name() {` to the end of that function. */
function shellFunction(name: string): string {
  const lines = remoteScript({ path: '/x', offset: 0, ino: '-', fp: '-', fpLen: 0, fromEnd: false }).split('\n');
  const first = lines.findIndex((line) => line.startsWith(`${name}() {`));
  const last = lines.findIndex((line, k) => k >= first && /; }$/.test(line));
  return lines.slice(first, last + 1).join('\n');
}

describe('the remote script', () => {
  it('fingerprints the first bytes it counted, even when the file is truncated (copytruncate) as they are read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-fp-'));
    const file = join(dir, 'app.log');
    const long = Array.from({ length: 120 }, (_, k) => `line ${k} é\n`).join('');
    writeFileSync(file, long);
    // a `head` after whose first read the file is truncated and written again, short
    const bin = join(dir, 'bin');
    execFileSync('mkdir', [bin]);
    writeFileSync(join(bin, 'head'), `#!/bin/sh\n/usr/bin/head "$@"\n[ -e '${dir}/done' ] || { : > '${dir}/done'; printf 'new\\n' > '${file}'; }\n`);
    chmodSync(join(bin, 'head'), 0o755);
    const out = execFileSync('sh', ['-c', `${shellFunction('fp')}\nfp '${file}'; echo "$fl $fh"`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    const [count, fp] = out.trim().split(' ');
    const first = Buffer.from(long).subarray(0, Number(count));
    expect(Number(count)).toBe(Math.min(1024, Buffer.byteLength(long)));
    expect(fp).toBe(fingerprint(first));
  });
});
