import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../core/record.js';
import { captureConsole } from './console.js';
import { createLogger, type LoggerOptions } from './logger.js';

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger('app', { console: stream, sink: (r) => records.push(r), level: 'DEBUG', debug: false, ...options });
  return { logger, lines, records };
}

describe('captureConsole', () => {
  let restore: (() => void) | undefined;
  afterEach(() => {
    restore?.();
    restore = undefined;
  });

  it('routes console.log/info/warn/error/debug into the logger, formatted like console', () => {
    const { logger, records } = capture();
    restore = captureConsole(logger);
    console.log('step %d of %s', 3, 'ten');
    console.info('info', { a: 1 });
    console.warn('careful');
    console.error(new Error('boom').message);
    console.debug('details');
    expect(records.map((r) => [r.level, r.message])).toEqual([
      ['INFO', 'step 3 of ten'],
      ['INFO', 'info { a: 1 }'],
      ['WARNING', 'careful'],
      ['ERROR', 'boom'],
      ['DEBUG', 'details'],
    ]);
  });

  it('restores the original methods, once, however often it is called', () => {
    const originals = { log: console.log, warn: console.warn, error: console.error };
    const { logger, records } = capture();
    const undo = captureConsole(logger);
    expect(console.log).not.toBe(originals.log);
    undo();
    undo();
    expect(console.log).toBe(originals.log);
    expect(console.warn).toBe(originals.warn);
    expect(console.error).toBe(originals.error);
    expect(records).toEqual([]);
  });

  it('captures only the methods asked for', () => {
    const original = console.error;
    const { logger, records } = capture();
    restore = captureConsole(logger, { methods: ['log'] });
    expect(console.error).toBe(original);
    console.log('x');
    expect(records).toHaveLength(1);
  });

  it('does not loop when the sink itself calls console', () => {
    const lines: string[] = [];
    const stream = new Writable({ decodeStrings: false, write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
    const seen: string[] = [];
    const logger = createLogger('app', {
      console: stream,
      debug: false,
      sink: (record) => {
        seen.push(record.message);
        console.log(`sink saw ${record.message}`); // reaches the original console.log
      },
    });
    const original = console.log;
    const calls: unknown[][] = [];
    console.log = (...args: unknown[]) => void calls.push(args);
    try {
      restore = captureConsole(logger);
      console.log('hello');
    } finally {
      restore?.();
      restore = undefined;
      console.log = original;
    }
    expect(seen).toEqual(['hello']);
    expect(calls).toEqual([['sink saw hello']]);
    expect(lines).toHaveLength(1);
  });

  it('names the line that called console.log in the debug format', () => {
    const { logger, lines } = capture({ debug: true });
    restore = captureConsole(logger);
    console.log('where am I'); const line = Number(/:(\d+):\d+\)?$/.exec(new Error().stack?.split('\n')[1] ?? '')?.[1]);
    expect(lines[0]).toMatch(new RegExp(` \\| INFO     \\| app \\| console\\.test\\.ts:${line} \\| where am I\\n$`));
  });

  it('follows a level change of the logger', () => {
    const { logger, records } = capture();
    restore = captureConsole(logger);
    logger.level = 'WARNING';
    console.info('quiet');
    console.warn('loud');
    expect(records.map((r) => r.message)).toEqual(['loud']);
  });
});
