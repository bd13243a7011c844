import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { detectLevel } from './level.js';
import { corpusDir } from '../../test/corpus.js';
import type { Level } from './record.js';

describe('detectLevel', () => {
  it('reads a level word with a colon at line start (Python logging, uvicorn, pip)', () => {
    expect(detectLevel('INFO: Started server process [1234]')).toBe('INFO');
    expect(detectLevel('WARNING:root:disk almost full')).toBe('WARNING');
    expect(detectLevel('ERROR: Could not find a version that satisfies the requirement foo')).toBe('ERROR');
    expect(detectLevel('CRITICAL:trainer:out of memory')).toBe('CRITICAL');
    expect(detectLevel('DEBUG:urllib3.connectionpool:Starting new HTTPS connection')).toBe('DEBUG');
  });

  it('reads compiler-style error: and warning: at line start', () => {
    expect(detectLevel('error: could not compile `runlog` due to 2 previous errors')).toBe('ERROR');
    expect(detectLevel('warning: unused variable: `x`')).toBe('WARNING');
    expect(detectLevel('error[E0308]: mismatched types')).toBe('ERROR');
    expect(detectLevel('fatal: not a git repository')).toBe('CRITICAL');
    expect(detectLevel('fail: Microsoft.AspNetCore.Server.Kestrel[13]')).toBe('ERROR');
  });

  it('reads bracketed levels in any case ([ERROR], Apache [error], padded [INFO ])', () => {
    expect(detectLevel('[ERROR] connection refused')).toBe('ERROR');
    expect(detectLevel('[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6')).toBe('ERROR');
    expect(detectLevel('[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok')).toBe('INFO');
    expect(detectLevel('2024-05-07T10:58:13.877Z [INFO]  expiration: revoked lease')).toBe('INFO');
    expect(detectLevel('[2024-01-01 10:00:00,123] {taskinstance.py:1234} WARNING - task retry')).toBe('WARNING');
    expect(detectLevel('[INFO ] started')).toBe('INFO');
    expect(detectLevel('{taskinstance.py:1234} ERROR - Task failed')).toBe('ERROR');
    expect(detectLevel('(node:1234) [DEP0005] DeprecationWarning: Buffer() is deprecated')).toBe('WARNING');
    expect(detectLevel('web-1  | INFO:     Application startup complete.')).toBe('INFO');
  });

  it('reads a level inside a leading bracketed prefix (env_logger, Serilog, Jupyter)', () => {
    expect(detectLevel('[2024-01-01T00:00:00Z ERROR my_crate::db] connection lost')).toBe('ERROR');
    expect(detectLevel('[12:00:01 WRN] slow request')).toBe('WARNING');
    expect(detectLevel('[W 2024-05-07 10:00:00.000 ServerApp] Notebook is not trusted')).toBe('WARNING');
  });

  it('reads the level column of `timestamp | level | message`', () => {
    expect(detectLevel('2024-01-01 12:00:00.123 | WARNING | disk almost full')).toBe('WARNING');
    expect(detectLevel('2024-01-01 12:00:00.123 | ERROR    | worker.heartbeat | hb.ts:12 | lost')).toBe('ERROR');
  });

  it('reads logfmt level keys, quoted or not', () => {
    expect(detectLevel('ts=2024-04-16T15:10:44Z caller=main.go:181 level=warn msg="slow"')).toBe('WARNING');
    expect(detectLevel('time="2024-05-07T11:59:43Z" level=info msg="StartContainer for \\"93fa\\""')).toBe('INFO');
    expect(detectLevel('t=2024-05-07T11:59:43Z msg="a long message" lvl=eror')).toBe('ERROR'); // log15
    expect(detectLevel('t=2024-05-07 lvl=nonsense msg=x')).toBeUndefined();
    expect(detectLevel('severity=error component=store')).toBe('ERROR');
    expect(detectLevel('level=CRIT msg="disk gone"')).toBe('CRITICAL');
  });

  it('reads the level field of a JSON line, as a word or a pino/bunyan number', () => {
    expect(detectLevel('{"level":"warn","msg":"slow"}')).toBe('WARNING');
    expect(detectLevel('{"time":"2024-04-16T15:03:32Z","severity":"ERROR","message":"x"}')).toBe('ERROR');
    expect(detectLevel('{"lvl": "debug", "msg": "x"}')).toBe('DEBUG');
    expect(detectLevel('{"level":10,"msg":"x"}')).toBe('DEBUG');
    expect(detectLevel('{"level":20,"msg":"x"}')).toBe('DEBUG');
    expect(detectLevel('{"level":30,"msg":"x"}')).toBe('INFO');
    expect(detectLevel('{"level":40,"msg":"x"}')).toBe('WARNING');
    expect(detectLevel('{"level":50,"msg":"x"}')).toBe('ERROR');
    expect(detectLevel('{"level":60,"msg":"x"}')).toBe('CRITICAL');
    expect(detectLevel('{"msg":"level unknown"}')).toBeUndefined();
    expect(detectLevel('{"msg":"compressed","level":3}')).toBeUndefined();
    expect(detectLevel("{'loss': 0.5, 'epoch': 0.1}")).toBeUndefined();
  });

  it('reads Android logcat levels (brief W/Tag and threadtime letter column)', () => {
    expect(detectLevel('W/ActivityManager(  123): Unable to start service')).toBe('WARNING');
    expect(detectLevel('E/AndroidRuntime: FATAL EXCEPTION: main')).toBe('ERROR');
    expect(detectLevel('03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs')).toBe('DEBUG');
    expect(detectLevel('03-17 16:13:38.839  1702  2113 V WindowManager: Skipping')).toBe('DEBUG');
    expect(detectLevel('03-17 16:13:38.839  1702  2113 E Tag: boom')).toBe('ERROR');
    expect(detectLevel('03-17 16:13:38.811 W/Tag( 1702): msg')).toBe('WARNING');
  });

  it('reads glog / klog letter-and-date prefixes', () => {
    expect(detectLevel('E0507 12:04:17.597069       1 descheduler.go:169] "failed"')).toBe('ERROR');
    expect(detectLevel('I0507 12:04:17.597069       1 profile.go:356] "Total number of pods evicted"')).toBe('INFO');
  });

  it('reads syslog <PRI> prefixes as severity = PRI % 8', () => {
    expect(detectLevel('<34>Oct 11 22:14:15 mymachine su: failed for lonvick')).toBe('CRITICAL');
    expect(detectLevel('<11>1 2003-10-11T22:14:15.003Z host app - - - boom')).toBe('ERROR');
    expect(detectLevel('<12>something')).toBe('WARNING');
    expect(detectLevel('<13>something')).toBe('INFO');
    expect(detectLevel('<6>kernel: eth0 up')).toBe('INFO');
    expect(detectLevel('<7>debug line')).toBe('DEBUG');
    expect(detectLevel('<999>not a pri')).toBeUndefined();
  });

  it('maps syslog severity words and aliases', () => {
    expect(detectLevel('emerg: system is unusable')).toBe('CRITICAL');
    expect(detectLevel('[alert] action needed')).toBe('CRITICAL');
    expect(detectLevel('[crit] disk failed')).toBe('CRITICAL');
    expect(detectLevel('[err] bad thing')).toBe('ERROR');
    expect(detectLevel('[notice] ok')).toBe('INFO');
    expect(detectLevel('[debug] detail')).toBe('DEBUG');
    expect(detectLevel('2024-01-01 12:00:00 TRACE entering')).toBe('DEBUG');
    expect(detectLevel('Mar 17, 2024 4:13:38 PM SEVERE: lost')).toBe('ERROR');
    expect(detectLevel('panic: runtime error: index out of range [3] with length 3')).toBe('CRITICAL');
  });

  it('reads bare uppercase level words after timestamp-like prefixes', () => {
    expect(detectLevel('2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: x')).toBe('INFO');
    expect(detectLevel('081109 203615 148 WARN dfs.DataNode$DataXceiver: 10.251.30.6:50010:Got exception')).toBe('WARNING');
    expect(detectLevel('17/06/09 20:10:40 ERROR executor.Executor: Exception in task 0.0')).toBe('ERROR');
    expect(detectLevel('2015-07-29 17:41:44,747 - WARN  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:Follower@118] - x')).toBe('WARNING');
    expect(detectLevel('nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 WARNING nova.compute x')).toBe('WARNING');
    expect(detectLevel('2024-01-01T00:00:00.000000Z  INFO my_crate::server: listening')).toBe('INFO');
    expect(detectLevel('2024-01-01 12:00:00,123 - myapp.module - ERROR - failed to connect')).toBe('ERROR');
    expect(detectLevel('12:00AM INF starting')).toBe('INFO');
    expect(detectLevel('WARN[0000] No swap limit support')).toBe('WARNING');
    expect(detectLevel('2024-01-01T10:00:00.000Z\terror\tserver/main.go:12\tfailed')).toBe('ERROR');
  });

  it('reads npm\'s WARN / ERR! / warn / error columns', () => {
    expect(detectLevel('npm WARN deprecated inflight@1.0.6: This module is not supported')).toBe('WARNING');
    expect(detectLevel('npm ERR! code E404')).toBe('ERROR');
    expect(detectLevel('npm warn deprecated glob@7.2.3')).toBe('WARNING');
    expect(detectLevel('npm error code ERESOLVE')).toBe('ERROR');
    expect(detectLevel('npm install finished')).toBeUndefined();
  });

  it('reads apt\'s E: and W: lines', () => {
    expect(detectLevel('E: Unable to locate package libfoo')).toBe('ERROR');
    expect(detectLevel('W: Some index files failed to download')).toBe('WARNING');
    expect(detectLevel('A: the answer')).toBeUndefined();
  });

  it('reads Python warnings after their file:line prefix', () => {
    expect(detectLevel('/opt/venv/lib/python3.11/site-packages/torch/nn/modules/module.py:1234: UserWarning: x')).toBe('WARNING');
    expect(detectLevel('DeprecationWarning: pkg_resources is deprecated')).toBe('WARNING');
  });

  it('sees through ANSI colour codes', () => {
    expect(detectLevel('\x1b[33mWARNING\x1b[0m: low disk')).toBe('WARNING');
    expect(detectLevel('2024-01-01 12:00:00 \x1b[1;31mERROR\x1b[0m boom')).toBe('ERROR');
    expect(detectLevel('\x1b[32mall good\x1b[0m')).toBeUndefined();
  });

  it('does not take a level word in the middle of a sentence', () => {
    expect(detectLevel('0 errors found')).toBeUndefined();
    expect(detectLevel('Got ERROR from upstream, retrying')).toBeUndefined();
    expect(detectLevel('authentication failure')).toBeUndefined();
    expect(detectLevel('error rate is 0.1%')).toBeUndefined();
    expect(detectLevel('Error rate is 0.1%')).toBeUndefined();
    expect(detectLevel('no warnings')).toBeUndefined();
    expect(detectLevel('Jun 14 15:16:01 combo logrotate: ALERT exited abnormally with [1]')).toBeUndefined();
    expect(detectLevel('Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0')).toBeUndefined();
    expect(detectLevel('Jul  1 09:00:55 combo xinetd[26482]: warning: can\'t get client address')).toBeUndefined();
    expect(detectLevel('Epoch 1/10 - loss: 0.2345 - accuracy: 0.9123')).toBeUndefined();
    expect(detectLevel('setting log level=debug')).toBeUndefined();
    expect(detectLevel('I/O error on device')).toBeUndefined();
    expect(detectLevel('2024-01-01 12:00:00 A new connection from 10.0.0.1')).toBeUndefined();
    expect(detectLevel('')).toBeUndefined();
    expect(detectLevel('[unclosed bracket ERROR')).toBeUndefined();
  });
});

// ── accuracy on real logs ────────────────────────────────────────────────────────────────────────

const LOGHUB = corpusDir('loghub', 'level.test') ?? '';
const corpusPresent = LOGHUB !== '';

/** The truth, written independently of detectLevel: each system puts its level in one fixed place. */
const TRUTH: Record<string, string> = {
  debug: 'DEBUG', d: 'DEBUG', v: 'DEBUG',
  info: 'INFO', notice: 'INFO', i: 'INFO',
  warn: 'WARNING', warning: 'WARNING', w: 'WARNING',
  error: 'ERROR', e: 'ERROR',
  fatal: 'CRITICAL', f: 'CRITICAL', a: 'CRITICAL',
};
const field = (n: number) => (line: string) => line.split(/\s+/)[n];
const ORACLES: Record<string, (line: string) => string | undefined> = {
  Android: field(4), // 03-17 16:13:38.811  1702  2395 D WindowManager: ...
  Apache: (line) => /^\[[^\]]*\] \[(\w+)\]/.exec(line)?.[1], // [Sun Dec 04 04:47:44 2005] [notice] ...
  HDFS: field(3), // 081109 203615 148 INFO dfs...
  Hadoop: field(2), // 2015-10-18 18:01:47,978 INFO [main] ...
  Linux: () => undefined, // syslog without a level field: every line is INFO
  OpenStack: field(4), // nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO ...
  Spark: field(2), // 17/06/09 20:10:40 INFO executor...
  Zookeeper: field(3), // 2015-07-29 17:41:44,747 - INFO  [...]
};

function truth(word: string | undefined): Level {
  if (word === undefined) return 'INFO';
  const level = TRUTH[word.toLowerCase()];
  if (level === undefined) throw new Error(`oracle found an unknown level ${word}`);
  return level as Level;
}

describe.skipIf(!corpusPresent)('detectLevel on the loghub corpus', () => {
  it('agrees with each system\'s level field on at least 99% of lines', () => {
    const rows: { system: string; lines: number; notInfo: number; correct: number; accuracy: string; misses: string[] }[] = [];
    for (const [system, oracle] of Object.entries(ORACLES)) {
      // CRLF endings, most files without a final newline
      const lines = readFileSync(path.join(LOGHUB, `${system}_2k.log`), 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
      if (lines.at(-1) === '') lines.pop();
      let correct = 0;
      let notInfo = 0; // lines whose true level is not the INFO default: the ones that test detection
      const misses: string[] = [];
      for (const line of lines) {
        const expected = truth(oracle(line));
        if (expected !== 'INFO') notInfo++;
        const got = detectLevel(line) ?? 'INFO';
        if (got === expected) correct++;
        else if (misses.length < 3) misses.push(`${expected}≠${got}: ${line.slice(0, 100)}`);
      }
      rows.push({ system, lines: lines.length, notInfo, correct, accuracy: (correct / lines.length).toFixed(4), misses });
    }
    console.log(
      [
        'system     lines  not INFO  correct  accuracy',
        ...rows.map((r) =>
          [r.system.padEnd(10), String(r.lines).padStart(5), String(r.notInfo).padStart(8), String(r.correct).padStart(7), r.accuracy].join('  '),
        ),
      ].join('\n'),
    );
    for (const row of rows) {
      expect(Number(row.accuracy), `${row.system}: ${row.misses.join(' | ')}`).toBeGreaterThanOrEqual(0.99);
    }
  });
});
