/**
 * OTLP/HTTP logs into a real hub: the official OpenTelemetry exporters (JSON and protobuf, gzip
 * too) as the clients, and hand-made bodies for what an exporter never sends.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as HttpExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { RunningHub } from '../src/server/listen.js';
import { getJson, hubOn, tempDir } from './helpers.js';

interface Line {
  seq: number;
  level: string;
  message: string;
  timestamp: string;
  logger?: string;
  source?: string;
  attrs?: Record<string, unknown>;
}

describe('POST /v1/logs (OTLP/HTTP)', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await hubOn(tempDir());
  });
  afterAll(async () => {
    await hub.close();
  });

  const lines = async (run: string) => (await getJson<{ logs: Line[] }>(`${hub.url}/api/runs/${run}/logs`)).body.logs;

  /** Emits through the exporter (one batch, so one request, in order); returns the export results it saw. */
  async function emitThrough(exporter: LogRecordExporter, attributes: Record<string, string | number>, emit: (logger: ReturnType<LoggerProvider['getLogger']>) => void) {
    const results: number[] = [];
    const watched: LogRecordExporter = {
      export: (records, done) => exporter.export(records, (result) => done((results.push(result.code), result))),
      forceFlush: () => exporter.forceFlush(),
      shutdown: () => exporter.shutdown(),
    };
    const provider = new LoggerProvider({ resource: resourceFromAttributes(attributes), processors: [new BatchLogRecordProcessor({ exporter: watched })] });
    emit(provider.getLogger('trainer', '1.0.0'));
    await provider.forceFlush();
    await provider.shutdown();
    expect(results).toEqual([0]); // ExportResultCode.SUCCESS: the exporter read the hub's answer as a success
  }

  const emitThree = (logger: ReturnType<LoggerProvider['getLogger']>) => {
    logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'epoch 1 started', attributes: { epoch: 1, 'gpu.name': 'A100' } });
    logger.emit({ severityNumber: SeverityNumber.WARN2, body: { loss: 0.25, nested: { ok: true } } });
    logger.emit({ severityNumber: SeverityNumber.FATAL, body: 'out of memory', timestamp: new Date('2026-01-02T03:04:05.678Z') });
  };

  for (const [name, make] of [
    ['JSON', (url: string) => new HttpExporter({ url })],
    ['JSON, gzip', (url: string) => new HttpExporter({ url, compression: 'gzip' as never })],
    ['protobuf', (url: string) => new ProtoExporter({ url })],
    ['protobuf, gzip', (url: string) => new ProtoExporter({ url, compression: 'gzip' as never })],
  ] as const) {
    it(`takes the official ${name} exporter's records into the run named by runlog.run_id, numbered and levelled`, async () => {
      const run = `otel-${name.replace(/\W+/g, '-')}`;
      await emitThrough(make(`${hub.url}/v1/logs`), { 'service.name': 'trainer', 'runlog.run_id': run }, emitThree);
      const stored = await lines(run);
      expect(stored.map((line) => [line.seq, line.level, line.message])).toEqual([
        [1, 'INFO', 'epoch 1 started'],
        [2, 'WARNING', '{"loss":0.25,"nested":{"ok":true}}'],
        [3, 'CRITICAL', 'out of memory'],
      ]);
      expect(stored[0]).toMatchObject({ logger: 'trainer', source: 'sdk', attrs: { epoch: 1, 'gpu.name': 'A100' } });
      expect(stored[2]?.timestamp).toBe('2026-01-02T03:04:05.678000Z');
      const created = (await getJson<{ name: string; status: string; labels: Record<string, string> }>(`${hub.url}/api/runs/${run}`)).body;
      expect(created).toMatchObject({ name: 'trainer', status: 'running', labels: { service: 'trainer' } });
    });
  }

  it("sends a service's records without a run id to its own stream, the run svc-<service.name>", async () => {
    await emitThrough(new ProtoExporter({ url: `${hub.url}/v1/logs` }), { 'service.name': 'billing api' }, (logger) =>
      logger.emit({ severityNumber: SeverityNumber.ERROR, body: 'charge failed' }),
    );
    await emitThrough(new HttpExporter({ url: `${hub.url}/v1/logs` }), { 'service.name': 'billing api' }, (logger) =>
      logger.emit({ severityNumber: SeverityNumber.DEBUG, body: 'retrying' }),
    );
    expect((await lines('svc-billing-api')).map((line) => [line.seq, line.level, line.message])).toEqual([
      [1, 'ERROR', 'charge failed'],
      [2, 'DEBUG', 'retrying'],
    ]);
    const runs = (await getJson<{ runs: { id: string; name: string }[] }>(`${hub.url}/api/runs?q=billing`)).body.runs;
    expect(runs).toContainEqual(expect.objectContaining({ id: 'svc-billing-api', name: 'billing api' }));
  });

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(`${hub.url}/v1/logs`, { method: 'POST', body, headers });

  const request = (run: string | undefined, records: object[]) => ({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hand' } }, ...(run ? [{ key: 'runlog.run_id', value: { stringValue: run } }] : [])] },
        scopeLogs: [{ scope: { name: 'hand.made' }, logRecords: records }],
      },
    ],
  });

  it('answers a method other than POST with 405 and Allow: POST, as OTLP/HTTP says, not 404', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await fetch(`${hub.url}/v1/logs`, { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(((await response.json()) as { error: string }).error).toBe('METHOD_NOT_ALLOWED');
    }
  });

  it('reads the JSON mapping by hand: gzip, string and number nanoseconds, hex ids, every AnyValue kind', async () => {
    const body = request('otel-hand', [
      {
        timeUnixNano: '1767323045678901234',
        severityNumber: 'SEVERITY_NUMBER_ERROR',
        body: { kvlistValue: { values: [{ key: 'big', value: { intValue: '9007199254740993' } }, { key: 'list', value: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }, { bytesValue: 'AQI=' }] } } }] } },
        traceId: '5B8EFFF798038103D269B633813FC60C',
        spanId: 'EEE19B7EC3C1B174',
        attributes: [{ key: 'group', value: { intValue: 7 } }],
      },
      { observedTimeUnixNano: 1767323045000000000, severityText: 'warn', body: { stringValue: 'observed only' } },
    ]);
    const response = await post(gzipSync(JSON.stringify(body)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const [first, second] = await lines('otel-hand');
    expect(first).toMatchObject({
      level: 'ERROR',
      timestamp: '2026-01-02T03:04:05.678901Z',
      message: '{"big":"9007199254740993","list":[true,1.5,"AQI="]}',
      logger: 'hand.made',
      // an attribute named like one of runlog's own attrs keeps its value under otel.
      attrs: { trace_id: '5b8efff798038103d269b633813fc60c', span_id: 'eee19b7ec3c1b174', 'otel.group': 7 },
    });
    expect(first?.attrs?.group).toBeUndefined();
    expect(second).toMatchObject({ level: 'WARNING', message: 'observed only', timestamp: '2026-01-02T03:04:05.000000Z' });
  });

  it('keeps attrs bounded: deep values cut at depth 8, attributes past 16 KiB left out and counted', async () => {
    let deep: object = { stringValue: 'bottom' };
    for (let i = 0; i < 12; i++) deep = { kvlistValue: { values: [{ key: `d${i}`, value: deep }] } };
    const big = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'x'.repeat(1000) } }));
    await post(JSON.stringify(request('otel-bounds', [{ body: { stringValue: 'b' }, attributes: [{ key: 'deep', value: deep }, ...big] }])), {
      'content-type': 'application/json',
    });
    const [line] = await lines('otel-bounds');
    expect(JSON.stringify(line?.attrs)).toContain('[too deep]');
    expect(JSON.stringify(line?.attrs).length).toBeLessThanOrEqual(16 * 1024 + 100);
    expect(line?.attrs?.attrs_dropped).toBeGreaterThan(0);
  });

  it('answers a partial success for records it cannot take: an ended run, a bad run id', async () => {
    await fetch(`${hub.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'otel-ended' }) });
    await fetch(`${hub.url}/api/runs/otel-ended/finish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'completed' }) });
    const body = {
      resourceLogs: [
        ...request('otel-ended', [{ body: { stringValue: 'late' } }, { body: { stringValue: 'later' } }]).resourceLogs,
        ...request('bad id!', [{ body: { stringValue: 'x' } }]).resourceLogs,
        ...request('otel-fine', [{ body: { stringValue: 'kept' } }]).resourceLogs,
      ],
    };
    const response = await post(JSON.stringify(body), { 'content-type': 'application/json' });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('3');
    expect(answer.partialSuccess.errorMessage).toContain('otel-ended already ended');
    expect(answer.partialSuccess.errorMessage).toContain('runlog.run_id "bad id!"');
    expect((await lines('otel-fine')).map((line) => line.message)).toEqual(['kept']);
    expect(await lines('otel-ended')).toEqual([]);
  });

  it('takes runlog.run_id given as an intValue (a number, or a string as OTLP/JSON writes an int64) as its decimal text', async () => {
    // the official exporters send a number attribute as an intValue: a number in JSON, an int64 in protobuf
    await emitThrough(new HttpExporter({ url: `${hub.url}/v1/logs` }), { 'runlog.run_id': 4201 }, (logger) => logger.emit({ body: 'json exporter' }));
    await emitThrough(new ProtoExporter({ url: `${hub.url}/v1/logs` }), { 'runlog.run_id': 4202 }, (logger) => logger.emit({ body: 'protobuf exporter' }));
    expect((await lines('4201')).map((line) => line.message)).toEqual(['json exporter']);
    expect((await lines('4202')).map((line) => line.message)).toEqual(['protobuf exporter']);
    const byInt = (intValue: unknown, message: string) => ({
      resourceLogs: [{ resource: { attributes: [{ key: 'runlog.run_id', value: { intValue } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: message } }] }] }],
    });
    for (const [intValue, run] of [['4203', '4203'], ['0042', '42'], [9007199254740993n.toString(), '9007199254740993']] as const) {
      const response = await post(JSON.stringify(byInt(intValue, `as ${intValue}`)), { 'content-type': 'application/json' });
      expect(await response.json()).toEqual({});
      expect((await lines(run)).map((line) => line.message)).toContain(`as ${intValue}`);
    }
    // a negative int makes no valid run id: rejected as a bad run id is, the rest of the request kept
    const negative = (await (await post(JSON.stringify(byInt('-7', 'negative')), { 'content-type': 'application/json' })).json()) as { partialSuccess: { errorMessage: string } };
    expect(negative.partialSuccess.errorMessage).toContain('runlog.run_id "-7": not a valid run id');
  });

  it("rejects the records of a resource whose runlog.run_id is of another type, naming the attribute, and keeps the other resources' lines", async () => {
    const values = [{ boolValue: true }, { doubleValue: 4.5 }, { intValue: 4.5 }, { intValue: 'forty' }, { intValue: '99999999999999999999' }, { arrayValue: { values: [] } }, {}];
    for (const [i, value] of values.entries()) {
      const body = {
        resourceLogs: [
          ...request('otel-typed-fine', [{ body: { stringValue: `fine ${i}` } }]).resourceLogs,
          { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'typed' } }, { key: 'runlog.run_id', value }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }, { body: { stringValue: 'y' } }] }] },
        ],
      };
      const response = await post(JSON.stringify(body), { 'content-type': 'application/json' });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { partialSuccess: { rejectedLogRecords: number | string; errorMessage: string } };
      expect(Number(answer.partialSuccess.rejectedLogRecords)).toBe(2);
      expect(answer.partialSuccess.errorMessage).toContain('resourceLogs[1].resource.attributes[1].value: runlog.run_id: expected a stringValue or an intValue');
    }
    // the other resource's lines are kept; the mistyped ones went nowhere (not to the service's stream)
    expect((await lines('otel-typed-fine')).map((line) => line.message)).toEqual(values.map((_, i) => `fine ${i}`));
    expect((await fetch(`${hub.url}/api/runs/svc-typed`)).status).toBe(404);
  });

  it('rejects, as a partial success, a record whose time is not nanoseconds; cuts a long service name to a run name', async () => {
    const times = ['abc', '-5', '99999999999999999999999'].map((time) => ({ timeUnixNano: time, body: { stringValue: `at ${time}` } }));
    const observed = { observedTimeUnixNano: 'soon', body: { stringValue: 'observed badly' } };
    const response = await post(JSON.stringify(request('otel-times', [...times, observed, { body: { stringValue: 'no time: now' } }])), { 'content-type': 'application/json' });
    const answer = (await response.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('4');
    expect(answer.partialSuccess.errorMessage).toContain('timeUnixNano');
    expect((await lines('otel-times')).map((line) => line.message)).toEqual(['no time: now']);
    const long = { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 's'.repeat(5000) } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] }] };
    expect((await post(JSON.stringify(long), { 'content-type': 'application/json' })).status).toBe(200);
    const runs = ((await (await fetch(`${hub.url}/api/runs?limit=500`)).json()) as { runs: { name: string | null; labels: Record<string, string> }[] }).runs;
    const service = runs.find((run) => run.name?.startsWith('sss'));
    expect(service?.name?.length).toBe(256);
    expect(service?.labels.service?.length).toBe(256);
  });

  it('rejects a time past 9999 or a body that is not an AnyValue; keeps a plain string body; keeps a line whose ids or severity it cannot use, and says so', async () => {
    const records = [
      { timeUnixNano: 1e25, body: { stringValue: 'a JSON number of ns far past 9999' } },
      { timeUnixNano: '99999999999999999999', body: { stringValue: 'year 5138: kept' } },
      { body: { value: 'not an AnyValue' } },
      { body: 'a bare string' },
      { body: { stringValue: 'bad ids' }, traceId: 'abc', spanId: 'zz' },
      { body: { stringValue: 'severity 25' }, severityNumber: 25, severityText: 'error' },
      { body: { stringValue: 'severity -1' }, severityNumber: -1 },
    ];
    const response = await post(JSON.stringify(request('otel-odd', records)), { 'content-type': 'application/json' });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('2');
    expect(answer.partialSuccess.errorMessage).toContain('logRecords[0].timeUnixNano');
    expect(answer.partialSuccess.errorMessage).toContain('logRecords[2].body');
    expect(answer.partialSuccess.errorMessage).toContain('logRecords[4].traceId');
    expect(answer.partialSuccess.errorMessage).toContain('logRecords[4].spanId');
    expect(answer.partialSuccess.errorMessage).toContain('logRecords[5].severityNumber');
    // what was kept reads back (a huge time once made every read of the run a 500)
    const kept = await lines('otel-odd');
    expect(kept.map((line) => line.message)).toEqual(['year 5138: kept', 'a bare string', 'bad ids', 'severity 25', 'severity -1']);
    expect(kept[0]?.timestamp).toMatch(/^5138-/);
    expect(kept[2]?.attrs?.trace_id).toBeUndefined();
    expect(kept.slice(3).map((line) => line.level)).toEqual(['ERROR', 'INFO']);
    // a warning alone is still a partial success with nothing rejected
    const warned = await post(JSON.stringify(request('otel-odd', [{ body: { stringValue: 'x' }, spanId: '00' }])), { 'content-type': 'application/json' });
    expect(await warned.json()).toEqual({ partialSuccess: { rejectedLogRecords: '0', errorMessage: expect.stringContaining('spanId') } });
  });

  it('answers 400 for bodies that do not decode and 415 for other content types', async () => {
    expect((await post('{not json', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await post(JSON.stringify({ resourceLogs: 'no' }), { 'content-type': 'application/json' })).status).toBe(400);
    expect((await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), { 'content-type': 'application/x-protobuf' })).status).toBe(400);
    expect((await post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(400);
    const brotli = await post('{}', { 'content-type': 'application/json', 'content-encoding': 'br' + 'x'.repeat(500) });
    expect(brotli.status).toBe(415);
    // the field named, as on every other route; the header's value not echoed whole
    const refused = (await brotli.json()) as { field?: string; message: string };
    expect(refused.field).toBe('content-encoding');
    expect(refused.message.length).toBeLessThan(200);
    const plain = await post('hello', { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(((await plain.json()) as { message: string }).message).toMatch(/text\/plain .*application\/x-protobuf/);
  });
});
