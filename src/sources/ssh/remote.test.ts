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

  it('gives in its header the first bytes of what it streams, even when the file is truncated and written again as it is opened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlog-header-'));
    const file = join(dir, 'app.log');
    const old = Array.from({ length: 120 }, (_, k) => `old ${k} é\n`).join('');
    const now = Array.from({ length: 120 }, (_, k) => `new ${k}\n`).join('');
    writeFileSync(file, old);
    writeFileSync(join(dir, 'now'), now);
    // a `head` after whose first read of the first KiB the file is truncated and written again (copytruncate)
    const bin = join(dir, 'bin');
    execFileSync('mkdir', [bin]);
    writeFileSync(join(bin, 'head'), `#!/bin/sh\n/usr/bin/head "$@"\n[ "$2" = 1024 ] && [ ! -e '${dir}/done' ] && { : > '${dir}/done'; cat '${dir}/now' > '${file}'; }\nexit 0\n`);
    chmodSync(join(bin, 'head'), 0o755);
    // stdin at its end at once: the script reads the file to its end and exits
    const out = execFileSync('sh', ['-c', remoteScript({ path: file, offset: 0, ino: '-', fp: '-', fpLen: 0, fromEnd: false })], {
      input: '',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    const newline = out.indexOf(0x0a);
    const [, state, , offset, fp, fpLen] = out.toString('utf8', 0, newline).split(' ');
    const streamed = out.subarray(newline + 1);
    expect([state, offset]).toEqual(['ok', '0']);
    expect(streamed.toString()).toBe(now);
    expect(fp).toBe(fingerprint(streamed.subarray(0, Number(fpLen))));
  });
});
