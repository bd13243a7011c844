/**
 * POST /v1/logs: OTLP/HTTP logs (https://opentelemetry.io/docs/specs/otlp/#otlphttp), JSON and
 * protobuf, gzip accepted. Each resource's records go to one run (see otlp/request.ts), numbered
 * by the hub. The answer is OTLP's: 200 with an ExportLogsServiceResponse in the request's
 * encoding, a partial success naming the records not taken (an ended run, a bad run id, a bad
 * time); 400 for a body that does not decode; 415 for another content type or encoding.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RunlogError, badRequest } from '../../core/errors.js';
import { inflated } from '../body-encoding.js';
import type { HubContext } from '../context.js';
import { assertNumbered, type StreamNumbering } from '../numbering.js';
import { openRun } from '../open-run.js';
import { decodeProtobufRequest, encodeProtobufResponse } from '../otlp/proto.js';
import { readExportRequest, type OtlpGroup } from '../otlp/request.js';

const PROTOBUF = 'application/x-protobuf';

export async function otlpRoutes(app: FastifyInstance, options: { context: HubContext; numbering: StreamNumbering }): Promise<void> {
  const { context, numbering } = options;
  const { store, live, config } = context;
  // this plugin's own parsers: the raw bytes, inflated here, so JSON and protobuf share the gzip path
  app.removeAllContentTypeParsers();
  const raw = (request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: Buffer) => void) => {
    try {
      done(null, inflated(request, body, config.bodyLimit));
    } catch (error) {
      done(error as Error);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, raw);
  app.addContentTypeParser(PROTOBUF, { parseAs: 'buffer' }, raw);

  app.post('/v1/logs', { config: { scope: 'write' } }, async (request, reply) => {
    const protobuf = (request.headers['content-type'] ?? '').toLowerCase().startsWith(PROTOBUF);
    const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
    const document = protobuf ? decodeProtobufRequest(body) : parseJson(body);
    const batch = readExportRequest(document, protobuf ? 'base64' : 'hex', config.maxLineBytes);
    let rejected = batch.rejected;
    const errors = [...batch.errors];
    for (const group of batch.groups) {
      try {
        await storeGroup(request, group);
      } catch (error) {
        if (!(error instanceof RunlogError) || error.statusCode >= 500) throw error;
        rejected += group.records.length;
        errors.push(error.message);
      }
    }
    const errorMessage = errors.join('; ');
    if (protobuf) return reply.type(PROTOBUF).send(encodeProtobufResponse(rejected, errorMessage));
    // int64 is a decimal string in OTLP/JSON; a message with nothing rejected is a warning
    return rejected > 0 || errorMessage !== '' ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage } } : {};
  });

  // OTLP/HTTP answers a method other than POST with 405 (a collector's probe, a misconfigured
  // exporter), not the 404 of a path that is not there; public, as it says nothing but the method
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/logs',
    config: { scope: 'public' },
    handler: async (request, reply) =>
      reply.code(405).header('allow', 'POST').send({ error: 'METHOD_NOT_ALLOWED', message: `${request.method} /v1/logs: OTLP/HTTP logs are sent with POST` }),
  });

  async function storeGroup(request: FastifyRequest, group: OtlpGroup): Promise<void> {
    const { target, records } = group;
    await numbering.exclusive(target.runId, async (lastSeq) => {
      await openRun(context, request, target.runId, {
        name: target.name,
        ...(target.service === null ? {} : { labels: { service: target.service, ingest: 'otlp' } }),
      });
      let seq = lastSeq;
      for (const record of records) record.seq = ++seq;
      assertNumbered(target.runId, records);
      const inserted = await store.appendRecords(target.runId, records);
      // publish after commit: a live viewer must never see a line that could still be lost
      live.publishRecords(target.runId, inserted);
    });
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badRequest('body', `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}
