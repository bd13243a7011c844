import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../core/record.js';
import { withTask } from './context.js';
import { createLogger, type LoggerOptions } from './logger.js';

const TIMESTAMP = String.raw`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}`;

/** A logger whose lines and records the test can read. */
function capture(name?: string, options: LoggerOptions = {}) {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const console = new Writable({
    decodeStrings: false,
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger(name, { console, sink: (record) => records.push(record), ...options });
  return { logger, lines, records };
}

/** The line of the test file that calls this. */
function callerLine(): number {
  const frame = new Error().stack?.split('\n')[2] ?? '';
  return Number(/:(\d+):\d+\)?$/.exec(frame)?.[1]);
}

describe('createLogger: formats', () => {
  it('writes the production format: timestamp | level | message', () => {
    const { logger, lines } = capture('app', { debug: false });
    logger.info('server started on port 8080');
    logger.warning('disk at 91%');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${TIMESTAMP} \\| INFO     \\| server started on port 8080\\n$`));
    expect(lines[1]).toMatch(new RegExp(`^${TIMESTAMP} \\| WARNING  \\| disk at 91%\\n$`));
  });

  it('writes the debug format with the file:line of the calling line', () => {
    const { logger, lines } = capture('runlog.worker', { debug: true });
    logger.debug('claimed task'); const line = callerLine();
    expect(lines[0]).toMatch(
      new RegExp(`^${TIMESTAMP} \\| DEBUG    \\| runlog\\.worker \\| logger\\.test\\.ts:${line} \\| claimed task\\n$`),
    );
  });

  it('puts the stack of an Error attr under the message', () => {
    const { logger, lines } = capture('app', { debug: false });
    logger.error('task failed', { err: new TypeError('bad input') });
    expect(lines[0]).toMatch(new RegExp(`^${TIMESTAMP} \\| ERROR    \\| task failed\\nTypeError: bad input\\n +at `));
  });
});

describe('createLogger: records', () => {
  it('sends a record per line with stream, seq, µs timestamp, level, logger, source and task id', async () => {
    const { logger, records } = capture('runlog.worker', { stream: 'worker:w1', debug: false });
    const before = Date.now() * 1000;
    logger.info('outside');
    await withTask('task-7', async () => {
      await Promise.resolve();
      logger.error('inside', { attempt: 2 });
    });
    expect(records).toEqual([
      expect.objectContaining({ stream: 'worker:w1', seq: 1, level: 'INFO', message: 'outside', logger: 'runlog.worker', source: 'sdk', task_id: undefined }),
      expect.objectContaining({ stream: 'worker:w1', seq: 2, level: 'ERROR', message: 'inside', task_id: 'task-7', attrs: { attempt: 2 } }),
    ]);
    expect(records[0]?.timestamp).toBeGreaterThanOrEqual(before - 1000);
    expect(records[0]?.timestamp).toBeLessThanOrEqual(Date.now() * 1000 + 1000);
  });

  it('defaults the stream to sdk:<name> and starts seq at firstSeq', () => {
    const { logger, records } = capture('trainer', { firstSeq: 501 });
    logger.info('a');
    expect(records[0]).toMatchObject({ stream: 'sdk:trainer', seq: 501 });
  });

  it('serializes an Error in attrs to name, message and stack, and copies attrs', () => {
    const { logger, records } = capture();
    const attrs: Record<string, unknown> = { err: Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }), path: '/x' };
    logger.error('open failed', attrs);
    attrs.path = '/changed';
    const err = records[0]?.attrs?.err as Record<string, unknown>;
    expect(err).toMatchObject({ name: 'Error', message: 'ENOENT: no such file', code: 'ENOENT' });
    expect(err.stack).toContain('logger.test.ts');
    expect(records[0]?.attrs?.path).toBe('/x');
    expect(JSON.parse(JSON.stringify(records[0]))).toMatchObject({ attrs: { err: { message: 'ENOENT: no such file' } } });
  });

  it('fits attrs past the hub\'s bounds (16 KiB, depth 8) into attrs_cut, so the batch is not refused for them (issue 8)', () => {
    const { logger, records } = capture();
    logger.info('big', { blob: 'x'.repeat(20_000) });
    logger.info('deep', { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } });
    logger.info('small', { attempt: 2 });
    expect(String(records[0]?.attrs?.attrs_cut)).toMatch(/^\{"blob":"xxx/);
    expect(Buffer.byteLength(JSON.stringify(records[0]?.attrs))).toBeLessThanOrEqual(16 * 1024);
    expect(records[1]?.attrs).toEqual({ attrs_cut: '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}' });
    expect(records[2]?.attrs).toEqual({ attempt: 2 });
  });

  it('refuses a stream that is not a valid id', () => {
    expect(() => createLogger('my app')).toThrow(/not a valid id/);
  });
});

describe('createLogger: levels', () => {
  it('writes INFO and above by default, and binds disabled levels to a no-op', () => {
    const { logger, lines, records } = capture('app', { debug: false });
    logger.debug('hidden');
    logger.info('shown');
    expect(lines).toHaveLength(1);
    expect(records.map((r) => r.seq)).toEqual([1]); // a disabled call takes no seq
    expect(logger.isEnabled('DEBUG')).toBe(false);
    expect(logger.isEnabled('CRITICAL')).toBe(true);
    expect(logger.debug).toBe(createLogger('other', { console: false, debug: false }).debug);
  });

  it('filters below the chosen level, and rebinds when the level changes', () => {
    const { logger, records } = capture('app', { level: 'ERROR' });
    logger.warning('no');
    logger.warn('no');
    logger.error('yes');
    logger.critical('yes');
    logger.level = 'WARNING';
    logger.warn('now yes');
    expect(records.map((r) => [r.level, r.message])).toEqual([
      ['ERROR', 'yes'],
      ['CRITICAL', 'yes'],
      ['WARNING', 'now yes'],
    ]);
    expect(() => {
      logger.level = 'LOUD' as never;
    }).toThrow(/logger level/);
  });

  describe('RUNLOG_DEBUG', () => {
    const saved = process.env.RUNLOG_DEBUG;
    afterEach(() => {
      if (saved === undefined) delete process.env.RUNLOG_DEBUG;
      else process.env.RUNLOG_DEBUG = saved;
    });

    it('turns on the debug format and level when it is 1 or true', () => {
      process.env.RUNLOG_DEBUG = 'true';
      const { logger, lines } = capture('app');
      expect(logger.level).toBe('DEBUG');
      logger.debug('x');
      expect(lines[0]).toMatch(/ \| DEBUG {4}\| app \| logger\.test\.ts:\d+ \| x\n$/);
      process.env.RUNLOG_DEBUG = '0';
      expect(capture('app').logger.level).toBe('INFO');
    });
  });
});

describe('createLogger: children', () => {
  it('names children with dots and shares the stream, the seq counter and the sink', () => {
    const { logger, records, lines } = capture('runlog.worker', { stream: 'worker:w1', debug: true });
    const heartbeat = logger.child('heartbeat');
    const gpu = heartbeat.child('gpu');
    logger.info('a');
    heartbeat.info('b');
    gpu.info('c');
    expect(heartbeat.name).toBe('runlog.worker.heartbeat');
    expect(records.map((r) => [r.logger, r.stream, r.seq])).toEqual([
      ['runlog.worker', 'worker:w1', 1],
      ['runlog.worker.heartbeat', 'worker:w1', 2],
      ['runlog.worker.heartbeat.gpu', 'worker:w1', 3],
    ]);
    expect(lines[2]).toContain(' | runlog.worker.heartbeat.gpu | ');
  });

  it('gives a child the level its parent has when it is made', () => {
    const { logger } = capture('app', { level: 'ERROR' });
    expect(logger.child('x').level).toBe('ERROR');
  });
});

describe('createLogger: never throws', () => {
  it('counts a throwing sink and still writes the line', () => {
    const { logger, lines } = capture('app', {
      sink: () => {
        throw new Error('sink down');
      },
    });
    expect(() => logger.info('still here')).not.toThrow();
    expect(lines).toHaveLength(1);
    expect(logger.dropped).toBe(1);
    expect(logger.drops).toEqual({ sink: 1, console: 0, input: 0 });
    expect(logger.child('c').dropped).toBe(1); // shared with the family
  });

  it('counts lines for a destroyed or ended stream, and does not crash on its error event', async () => {
    for (const end of [(s: Writable) => s.destroy(), (s: Writable) => s.end()]) {
      const stream = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      const logger = createLogger('app', { console: stream });
      end(stream);
      expect(() => logger.error('into the void')).not.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(logger.drops.console).toBe(1);
    }
  });

  it('survives a stream that errors later (EPIPE) and stops writing to it', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const logger = createLogger('app', { console: stream });
    logger.info('first'); // its error arrives after the call returns
    await new Promise((resolve) => setTimeout(resolve, 5));
    logger.info('second');
    expect(logger.drops.console).toBe(1);
  });

  it('counts a stream whose write throws, and a message whose toString throws', () => {
    const stream = { write: () => { throw new Error('nope'); } } as unknown as NodeJS.WritableStream;
    const logger = createLogger('app', { console: stream });
    expect(() => logger.info('x')).not.toThrow();
    const hostile = { toString: () => { throw new Error('no text'); } };
    expect(() => logger.info(hostile as unknown as string)).not.toThrow();
    expect(logger.drops).toEqual({ sink: 0, console: 1, input: 1 });
  });
});
