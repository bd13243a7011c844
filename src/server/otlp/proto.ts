/**
 * The protobuf side of OTLP/HTTP logs: the messages of opentelemetry-proto's
 * collector/logs/v1/logs_service.proto and the types they use, as a small inline definition
 * (field numbers and wire types as upstream; one package, since package names are not on the
 * wire). A request is decoded and turned into the same plain shape the JSON mapping gives, so
 * one reader (request.ts) serves both encodings; only trace and span ids differ (base64 here,
 * hex in JSON), and the reader is told which.
 */
import protobuf from 'protobufjs';
import { badRequest } from '../../core/errors.js';

const DEFINITION = `
syntax = "proto3";
package otlp;
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
`;

export const OTLP_ROOT = protobuf.parse(DEFINITION).root;
const RequestType = OTLP_ROOT.lookupType('otlp.ExportLogsServiceRequest');
const ResponseType = OTLP_ROOT.lookupType('otlp.ExportLogsServiceResponse');

/** The request in the JSON mapping's shape (camelCase, 64-bit numbers as strings, bytes as base64). */
export function decodeProtobufRequest(body: Buffer): unknown {
  let message: protobuf.Message;
  try {
    message = RequestType.decode(body);
  } catch (error) {
    // a truncated or garbled message, or one nested past the stack
    throw badRequest('body', `not an ExportLogsServiceRequest (${error instanceof Error ? error.message : String(error)})`);
  }
  return RequestType.toObject(message, { longs: String, bytes: String, enums: Number, defaults: false });
}

export function encodeProtobufResponse(rejected: number, errorMessage: string): Buffer {
  const partialSuccess = rejected > 0 || errorMessage !== '' ? { rejectedLogRecords: rejected, errorMessage } : undefined;
  const message = ResponseType.fromObject(partialSuccess === undefined ? {} : { partialSuccess });
  return Buffer.from(ResponseType.encode(message).finish());
}
