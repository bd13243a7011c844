import { existsSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hubOn, tempDir } from '../../test/helpers.js';
import type { LogRecord } from '../core/record.js';
import { HubShipper } from './hub.js';

const record = (seq: number): LogRecord => ({ stream: 'behind', seq, timestamp: 1_700_000_000_000_000 + seq, level: 'INFO', message: `line ${seq}` });

describe('HubShipper', () => {
  it('keeps memory bounded while the hub is away, reads the rest back from the WAL, and delivers every line once, in order', async () => {
    const hubData = tempDir();
    const first = await hubOn(hubData);
    const port = Number(new URL(first.url).port);
    await first.close(); // the hub is away from the start
    const walDir = join(tempDir(), 'wal');
    const shipper = new HubShipper({ hub: first.url, walDir, writerKey: 'key', maxMemoryLines: 100, finishTimeoutMs: 30_000 });
    shipper.start({ id: 'behind', status: 'running', started_at: 1_700_000_000_000_000 });
    let most = 0;
    for (let seq = 1; seq <= 5000; seq++) {
      shipper.record(record(seq));
      most = Math.max(most, shipper.memoryLines);
      if (seq % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(most).toBeLessThanOrEqual(101);
    const hub = await hubOn(hubData, port);
    try {
      const run = await shipper.finish({ status: 'completed', exit_code: 0 });
      expect(run?.line_count).toBe(5000);
      const stored = await hub.store.readLogs('behind', 0, 10_000);
      expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
      // all acknowledged, the end too: the WAL is gone
      expect(existsSync(walDir) ? readdirSync(walDir) : []).toEqual([]);
    } finally {
      await hub.close();
    }
  });

  it('keeps the lines its WAL cannot take (a full disk) while it reads back from it, and delivers all, once, in order', async () => {
    const hubData = tempDir();
    const first = await hubOn(hubData);
    const port = Number(new URL(first.url).port);
    await first.close(); // away: the shipper falls behind and reads back from the WAL
    const walDir = join(tempDir(), 'wal');
    const shipper = new HubShipper({ hub: first.url, walDir, writerKey: 'key', maxMemoryLines: 100, finishTimeoutMs: 30_000 });
    shipper.start({ id: 'behind', status: 'running', started_at: 1_700_000_000_000_000 });
    for (let seq = 1; seq <= 2000; seq++) shipper.record(record(seq));
    shipper.flushDurable();
    // from now on every write fails as on a full disk (the file stays readable)
    const wal = (shipper as unknown as { wal: { fd: number; file: string } }).wal;
    wal.fd = openSync(wal.file, 'r');
    for (let seq = 2001; seq <= 3000; seq++) {
      shipper.record(record(seq));
      if (seq % 250 === 0) await new Promise((resolve) => setTimeout(resolve, 30)); // batches fail on their timer too
    }
    const hub = await hubOn(hubData, port);
    try {
      const run = await shipper.finish({ status: 'completed', exit_code: 0 });
      expect(run?.line_count).toBe(3000);
      const stored = await hub.store.readLogs('behind', 0, 10_000);
      expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
      expect(shipper.lost).toBe(0);
    } finally {
      await hub.close();
    }
  });
});
