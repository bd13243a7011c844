/**
 * The Content-Encoding of the routes that take a body compressed or not (`/v1/logs`, a run's
 * `/text`): gzip or none. The JSON routes take none (json-body.ts).
 */
import { gunzipSync } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { RunlogError, badRequest } from '../core/errors.js';

export function contentEncoding(request: FastifyRequest): 'gzip' | 'identity' {
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding === 'gzip') return 'gzip';
  if (encoding === 'identity' || encoding === '') return 'identity';
  // named as the JSON routes name it; the header's value cut short: it is echoed back
  throw new RunlogError(415, 'UNSUPPORTED_ENCODING', `content-encoding ${encoding.slice(0, 40)}: expected gzip or none`, 'content-encoding');
}

/** The body as sent, inflated when gzip: held to `limit` bytes inflated too (a small zip bomb stays small). */
export function inflated(request: FastifyRequest, body: Buffer, limit: number): Buffer {
  if (contentEncoding(request) !== 'gzip') return body;
  try {
    return gunzipSync(body, { maxOutputLength: limit });
  } catch (error) {
    throw badRequest('body', `not gzip, or over ${limit} bytes inflated (${error instanceof Error ? error.message : String(error)})`);
  }
}
