import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../core/limits.js';
import { microsToIso } from '../../core/record.js';
import { OTLP_ROOT, decodeProtobufRequest, encodeProtobufResponse } from './proto.js';
import { levelOf, readExportRequest, serviceRunId } from './request.js';

describe('OTLP logs request', () => {
  it('maps severity numbers to levels in bands of four, and falls back to the severity text', () => {
    const levels = Array.from({ length: 24 }, (_, i) => levelOf(i + 1, undefined));
    expect(levels).toEqual([
      ...Array(8).fill('DEBUG'),
      ...Array(4).fill('INFO'),
      ...Array(4).fill('WARNING'),
      ...Array(4).fill('ERROR'),
      ...Array(4).fill('CRITICAL'),
    ]);
    expect(levelOf(0, 'Warn')).toBe('WARNING');
    expect(levelOf(undefined, 'fatal')).toBe('CRITICAL');
    expect(levelOf('SEVERITY_NUMBER_WARN3', undefined)).toBe('WARNING');
    expect(levelOf(undefined, 'whatever')).toBe('INFO');
  });

  it('names a service stream with a valid run id', () => {
    expect(serviceRunId('billing api/v2')).toBe('svc-billing-api-v2');
    expect(serviceRunId('unknown_service:node')).toBe('svc-unknown_service-node');
    expect(serviceRunId('')).toBe('svc-unknown_service');
    // names that would come out alike are told apart by a hash
    expect(serviceRunId('日本')).toMatch(/^svc----[0-9a-f]{8}$/);
    expect(serviceRunId('日本')).not.toBe(serviceRunId('中国'));
    const long = (end: string) => serviceRunId(`${'s'.repeat(130)}${end}`);
    expect(long('a')).not.toBe(long('b'));
    expect(long('a').length).toBeLessThanOrEqual(128);
  });

  it('decodes a protobuf request into the JSON mapping, ids turned to hex', () => {
    const type = OTLP_ROOT.lookupType('otlp.ExportLogsServiceRequest');
    const bytes = type
      .encode(
        type.fromObject({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'runlog.run_id', value: { stringValue: 'p-1' } }] },
              scopeLogs: [{ logRecords: [{ timeUnixNano: '1767323045678901234', severityNumber: 17, body: { stringValue: 'boom' }, traceId: Buffer.from('0102ab'.padEnd(32, '0'), 'hex') }] }],
            },
          ],
        }),
      )
      .finish();
    const batch = readExportRequest(decodeProtobufRequest(Buffer.from(bytes)), 'base64', 1024);
    expect(batch.rejected).toBe(0);
    expect(batch.groups[0]?.target.runId).toBe('p-1');
    expect(batch.groups[0]?.records[0]).toMatchObject({ timestamp: 1767323045678901, level: 'ERROR', message: 'boom', attrs: { trace_id: '0102ab'.padEnd(32, '0') } });
  });

  it('encodes a partial success, and an empty response when everything was taken', () => {
    const type = OTLP_ROOT.lookupType('otlp.ExportLogsServiceResponse');
    expect(type.toObject(type.decode(encodeProtobufResponse(2, 'run x already ended')), { longs: Number })).toEqual({
      partialSuccess: { rejectedLogRecords: 2, errorMessage: 'run x already ended' },
    });
    expect(encodeProtobufResponse(0, '').length).toBe(0);
  });

  it('counts an attribute without a key among the dropped ones', () => {
    const batch = readExportRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [{ value: { stringValue: 'no key' } }, { key: 'k', value: { intValue: 1 } }] }] }] }] }, 'hex', 1024);
    expect(batch.groups[0]?.records[0]?.attrs).toEqual({ k: 1, attrs_dropped: 1 });
  });

  it('says a string field given as another type (severityText, eventName, the scope name) as a warning, keeping the record', () => {
    const batch = readExportRequest(
      { resourceLogs: [{ scopeLogs: [{ scope: { name: 7 }, logRecords: [{ severityText: 5, eventName: { x: 1 }, body: { stringValue: 'kept' } }] }] }] },
      'hex',
      1024,
    );
    expect(batch.rejected).toBe(0);
    expect(batch.groups[0]?.records[0]).toMatchObject({ message: 'kept', level: 'INFO' });
    expect(batch.errors).toEqual([
      'resourceLogs[0].scopeLogs[0].scope.name: expected a string, got 7; left out',
      'resourceLogs[0].scopeLogs[0].logRecords[0].severityText: expected a string, got 5; left out',
      'resourceLogs[0].scopeLogs[0].logRecords[0].eventName: expected a string, got {"x":1}; left out',
    ]);
  });

  it('says a service.name that is not a string, and streams its records as an unnamed service', () => {
    const batch = readExportRequest(
      { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { intValue: 42 } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'kept' } }] }] }] },
      'hex',
      1024,
    );
    expect(batch.rejected).toBe(0);
    expect(batch.groups[0]?.target).toMatchObject({ runId: 'svc-unknown_service', isService: true });
    expect(batch.groups[0]?.records[0]).toMatchObject({ message: 'kept' });
    expect(batch.errors).toEqual(['resourceLogs[0].resource.attributes: service.name: expected a string, got 42; left out']);
  });

  it('cuts a message over the line limit and says so', () => {
    const batch = readExportRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(100) } }] }] }] }, 'hex', 10);
    expect(batch.groups[0]?.records[0]).toMatchObject({ message: 'x'.repeat(10), attrs: { truncated: true } });
    expect(batch.groups[0]?.target).toMatchObject({ runId: 'svc-unknown_service', isService: true });
  });

  it('keeps only records whose time reads back, and counts every record once, kept or rejected (property)', () => {
    const nanos = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
      fc.double({ noNaN: false }),
      fc.constantFrom(1e25, -1, '', '0', 'abc', null, 2 ** 53, '18446744073709551615'),
    );
    const anyValue = fc.oneof(fc.record({ stringValue: fc.string() }), fc.record({ intValue: fc.oneof(fc.integer(), fc.string()) }), fc.string(), fc.integer(), fc.object(), fc.constant(null));
    const logRecord = fc.record(
      { timeUnixNano: nanos, observedTimeUnixNano: nanos, severityNumber: fc.oneof(fc.integer({ min: -2, max: 30 }), fc.string()), body: anyValue, traceId: fc.string(), spanId: fc.stringMatching(/^[0-9a-f]{0,20}$/) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(logRecord, { maxLength: 8 }), (records) => {
        const batch = readExportRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] }, 'hex', 1024);
        const kept = batch.groups.flatMap((group) => group.records);
        expect(kept.length + batch.rejected).toBe(records.length);
        for (const record of kept) {
          expect(record.timestamp).toBeGreaterThanOrEqual(0);
          expect(record.timestamp).toBeLessThanOrEqual(LIMITS.timestampMicros.max);
          expect(() => microsToIso(record.timestamp)).not.toThrow();
          expect(typeof record.message).toBe('string');
        }
      }),
      { seed: 11, numRuns: 500 },
    );
  });
});
