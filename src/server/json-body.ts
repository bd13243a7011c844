/**
 * How the JSON routes read a body, the same for all of them (every route but /v1/logs and
 * /api/runs/:id/text, which set their own parsers in their own plugins):
 * - only `application/json`: Fastify's default `text/plain` parser is removed, so text sent to a
 *   JSON route is a 415 naming the type it takes (app.ts's error handler), not a string the route
 *   then calls "not an object";
 * - the body is a JSON object: `null`, an array or a number is a 400 naming `body` (a route that
 *   reads its body as optional took `null` as "no fields": `POST /api/runs` made a run of it);
 * - a `__proto__` key, or `constructor` holding `prototype`, is a 400 naming where it is: JSON.parse
 *   makes them plain own keys, but a merge into another object (`{ ...a }`, Object.assign) later
 *   could set a prototype. Fastify refused them too, as "Body is not valid JSON", which it was.
 * - uncompressed: a `Content-Encoding` (gzip, br) is a 415 naming it, where the compressed bytes
 *   were parsed as text and answered "not valid JSON" with a piece of them. (OTLP and the text
 *   route inflate gzip themselves.)
 * - UTF-8, or the charset it declares (`; charset=iso-8859-1`), transcoded as the text route does
 *   (charset.ts): read as UTF-8 whatever it said, every non-ASCII character of a Latin-1 body was
 *   stored as U+FFFD under a 201; a charset the hub cannot decode is a 415 naming `content-type`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, RunlogError } from '../core/errors.js';
import { bodyCharset, transcode } from './charset.js';

/** Whether the text may hold a key starting `__` or `con` (each character may be a \u escape): else no walk. */
const SUSPECT_KEY = /"(?:_|\\u005[fF]){2}|"(?:c|\\u0063)(?:o|\\u006[fF])(?:n|\\u006[eE])/;

export function jsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: string | Buffer, done) => {
    try {
      assertUncompressed(request);
      done(null, parseJsonObject(jsonBytes(request, body as Buffer).toString('utf8')));
    } catch (error) {
      done(error as RunlogError);
    }
  });
}

/** The bytes of a JSON body in UTF-8 (transcoded from the charset its Content-Type names). */
export function jsonBytes(request: FastifyRequest, body: Buffer): Buffer {
  return transcode(body, bodyCharset(request.headers['content-type']));
}

/** A JSON body comes as it is: a Content-Encoding other than identity is a 415 naming it. */
export function assertUncompressed(request: FastifyRequest): void {
  const encoding = (request.headers['content-encoding'] ?? '').toLowerCase().trim();
  if (encoding === '' || encoding === 'identity') return;
  throw new RunlogError(415, 'UNSUPPORTED_ENCODING', `content-encoding ${encoding.slice(0, 40)}: a JSON body is taken uncompressed (no Content-Encoding)`, 'content-encoding');
}

export function parseJsonObject(text: string): Record<string, unknown> {
  return jsonObject(parseJsonValue(text));
}

/** A body's value must be an object: `null`, an array or a number is a 400 naming `body`. */
export function jsonObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('body', `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** Any JSON value, without the keys that could set a prototype (the ingest route reads its batch a group of records at a time with it). */
export function parseJsonValue(text: string): unknown {
  if (text.trim() === '') throw badRequest('body', 'empty with Content-Type application/json: send a JSON object, or no Content-Type');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest('body', `not valid JSON (${(error as Error).message.slice(0, 200)})`);
  }
  const found = SUSPECT_KEY.test(text) && typeof value === 'object' && value !== null ? forbiddenKey(value) : undefined;
  if (found !== undefined) throw badRequest(found.path, `${found.what} is not allowed in a JSON body (it could set an object's prototype)`);
  return value;
}

/** The first `__proto__` key, or `constructor` key holding `prototype`, and its path (`labels.__proto__`); without recursion. */
export function prototypeKey(value: unknown, text: string): { path: string; what: string } | undefined {
  // most texts hold no key that could be one: no walk
  return SUSPECT_KEY.test(text) && typeof value === 'object' && value !== null ? forbiddenKey(value) : undefined;
}

function forbiddenKey(root: object): { path: string; what: string } | undefined {
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop() as [unknown, string];
    if (typeof node !== 'object' || node === null) continue;
    const isArray = Array.isArray(node);
    for (const key of Object.keys(node)) {
      const child: unknown = (node as Record<string, unknown>)[key];
      const at = isArray ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
      if (key === '__proto__') return { path: at, what: 'a "__proto__" key' };
      if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
        return { path: at, what: 'a "constructor" key holding "prototype"' };
      }
      if (typeof child === 'object' && child !== null) stack.push([child, at]);
    }
  }
  return undefined;
}
