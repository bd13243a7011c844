import { describe, expect, it } from 'vitest';
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
  });

  it('decodes a protobuf request into the JSON mapping, ids turned to hex', () => {
    const type = OTLP_ROOT.lookupType('otlp.ExportLogsServiceRequest');
    const bytes = type
      .encode(
        type.fromObject({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'runlog.run_id', value: { stringValue: 'p-1' } }] },
              scopeLogs: [{ logRecords: [{ timeUnixNano: '1767323045678901234', severityNumber: 17, body: { stringValue: 'boom' }, traceId: Buffer.from('0102ab', 'hex') }] }],
            },
          ],
        }),
      )
      .finish();
    const batch = readExportRequest(decodeProtobufRequest(Buffer.from(bytes)), 'base64', 1024);
    expect(batch.rejected).toBe(0);
    expect(batch.groups[0]?.target.runId).toBe('p-1');
    expect(batch.groups[0]?.records[0]).toMatchObject({ timestamp: 1767323045678901, level: 'ERROR', message: 'boom', attrs: { trace_id: '0102ab' } });
  });

  it('encodes a partial success, and an empty response when everything was taken', () => {
    const type = OTLP_ROOT.lookupType('otlp.ExportLogsServiceResponse');
    expect(type.toObject(type.decode(encodeProtobufResponse(2, 'run x already ended')), { longs: Number })).toEqual({
      partialSuccess: { rejectedLogRecords: 2, errorMessage: 'run x already ended' },
    });
    expect(encodeProtobufResponse(0, '').length).toBe(0);
  });

  it('cuts a message over the line limit and says so', () => {
    const batch = readExportRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(100) } }] }] }] }, 'hex', 10);
    expect(batch.groups[0]?.records[0]).toMatchObject({ message: 'x'.repeat(10), attrs: { truncated: true } });
    expect(batch.groups[0]?.target).toMatchObject({ runId: 'svc-unknown_service', isService: true });
  });
});
