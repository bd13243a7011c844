/**
 * A hub under `--base-path` answers a wrong Content-Type as a hub at `/` does, naming what the
 * route takes: it said "application/json is not taken here: send application/json" on the text
 * and OTLP routes, whose route patterns carry the base path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../src/server/listen.js';
import { tempDir } from './helpers.js';

describe.each(['', '/runlog'])('a wrong Content-Type under base path %j', (basePath) => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir(), basePath }, { audit: () => {} });
  });
  afterAll(async () => hub?.close());

  it('is a 415 naming the types the route takes', async () => {
    for (const [path, type, takes] of [
      ['/api/runs/typed/text', 'application/json', 'text/plain (a log file) or application/x-ndjson (a record a line)'],
      ['/v1/logs', 'text/plain', 'application/json or application/x-protobuf (OTLP/HTTP)'],
      ['/api/runs', 'text/plain', 'application/json'],
    ]) {
      const answer = await fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'content-type': type as string }, body: '{}' });
      expect(answer.status, path).toBe(415);
      expect(await answer.json(), path).toEqual({ error: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type', message: `Content-Type ${type} is not taken here: send ${takes}` });
    }
  });
});
