/**
 * A JSON body that declares its charset is read in it, as the text route reads its body. It was
 * read as UTF-8 whatever it said: `{"name":"café"}` sent in Latin-1 was stored as `caf\uFFFD`
 * under a 201, the é lost for good.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest } from './app-per-test.case.js';

describe('the charset of a JSON body', () => {
  const app = appPerTest();

  const post = (url: string, type: string, text: string, encoding: BufferEncoding = 'latin1') =>
    app().inject({ method: 'POST', url, headers: { 'content-type': type }, payload: Buffer.from(text, encoding) });

  it('transcodes a body in the charset it names, on the JSON routes and the batch route', async () => {
    const created = await post('/api/runs', 'application/json; charset=iso-8859-1', '{"id":"c1","name":"café"}');
    expect(created.statusCode).toBe(201);
    expect(created.json().name).toBe('café');
    const line = { seq: 1, timestamp: 1_700_000_000_000_000, level: 'INFO', message: 'naïve' };
    expect((await post('/api/runs/c1/logs', 'application/json; charset=latin1', JSON.stringify({ records: [line] }))).statusCode).toBe(200);
    expect((await app().inject('/api/runs/c1/logs')).json().logs[0].message).toBe('naïve');
  });

  it('reads UTF-8 as before, and refuses a charset it cannot decode naming content-type', async () => {
    expect((await post('/api/runs', 'application/json; charset=utf-8', '{"id":"c2","name":"café"}', 'utf8')).json().name).toBe('café');
    const refused = await post('/api/runs', 'application/json; charset=klingon', '{"id":"c3"}');
    expect(refused.statusCode).toBe(415);
    expect(refused.json().field).toBe('content-type');
    expect((await app().inject('/api/runs/c3')).statusCode).toBe(404);
  });
});
