/**
 * NDJSON lines follow the JSON routes' rule on keys that could set a prototype: `attrs` with a
 * `__proto__` key is a 400 on POST /api/runs/:id/logs, and was stored under a 200 when the same
 * record came as a line of POST /api/runs/:id/text (application/x-ndjson).
 */
import { expect, it } from 'vitest';
import { appPerTest } from './app-per-test.case.js';

const app = appPerTest();

const ndjson = (id: string, body: string) => app().inject({ method: 'POST', url: `/api/runs/${id}/text`, headers: { 'content-type': 'application/x-ndjson' }, payload: body });

it('refuses an NDJSON line with a __proto__ key, naming the line and the key, and keeps nothing of the body', async () => {
  const answer = await ndjson('nd-proto', '{"message":"fine"}\n{"message":"x","attrs":{"k":"v","__proto__":{"polluted":1}}}\n');
  expect(answer.statusCode).toBe(400);
  expect(answer.json().field).toBe('line 2.attrs.__proto__');
  expect((await app().inject('/api/runs/nd-proto')).statusCode).toBe(404);
  const constructor = await ndjson('nd-proto', '{"message":"x","attrs":{"constructor":{"prototype":{"a":1}}}}\n');
  expect(constructor.json().field).toBe('line 1.attrs.constructor');
});

it('still takes lines whose keys only look alike', async () => {
  const answer = await ndjson('nd-ok', '{"message":"__proto__ in a message","attrs":{"constructor":"a string","__protocol":"x"}}\n');
  expect(answer.statusCode).toBe(200);
  expect(answer.json().inserted).toBe(1);
});
