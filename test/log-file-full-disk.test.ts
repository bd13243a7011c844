/**
 * The run's log file (src/sinks/log-file.ts) on a real full disk: a tmpfs mounted here (CI runs
 * as root); skipped saying why where mount is refused, failed in strict mode. A short write used
 * to leave a torn line and go uncounted: the lines it cut were missing from the file and from
 * "N lines missing from the log file".
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { LogRecord } from '../src/core/record.js';
import { LogFileSink } from '../src/sinks/log-file.js';
import { tmpfsOrSkip } from './helpers.js';

it('holds only whole lines on a full disk, and counts every line it lacks', (context) => {
  const disk = tmpfsOrSkip('256k', context);
  if (disk === undefined) return;
  try {
    const filler = join(disk, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' }); // until ENOSPC
    truncateSync(filler, statSync(filler).size - 10_000); // room for part of the first write
    const sink = new LogFileSink(join(disk, 'logs'), 'r1');
    const total = 2000;
    for (let seq = 1; seq <= total; seq++) {
      const record: LogRecord = { stream: 'r1', seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', source: 'stdout', message: `line ${seq} ${'x'.repeat(60)}` };
      sink.record(record);
    }
    sink.flush();
    rmSync(filler); // room again: the next line starts a line of its own
    sink.record({ stream: 'r1', seq: total + 1, timestamp: 1_700_000_000_000_000, level: 'INFO', source: 'stdout', message: 'after' });
    sink.close();
    const lines = readFileSync(sink.path, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.every((line) => / \[INFO\] (line \d+ x{60}|after)$/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/ after$/);
    expect(lines.length - 1 + sink.lost).toBe(total);
    expect(sink.lost).toBeGreaterThan(0);
  } finally {
    spawnSync('umount', ['-l', disk]);
  }
});
