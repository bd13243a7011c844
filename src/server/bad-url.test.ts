/**
 * A path the router cannot decode (a percent-encoding that is not UTF-8) or with a segment past
 * maxParamLength was answered in Fastify's own shape (`FST_ERR_BAD_URL`), without the security
 * headers every other answer has, and with the path echoed.
 */
import { expect, it } from 'vitest';
import { appPerTest } from './app-per-test.case.js';

const app = appPerTest();

it.each([
  ['a percent-encoding that is not UTF-8', '/api/runs/%ED%A0%80rl_pasted', 400, 'BAD_REQUEST'],
  ['one in a worker id', '/api/workers/%ff%fe/rl_pasted', 400, 'BAD_REQUEST'],
])('answers a path with %s in runlog’s shape, naming url, with the security headers', async (_what, url, status, code) => {
  const answer = await app().inject(url);
  expect(answer.statusCode).toBe(status);
  expect(answer.json()).toMatchObject({ error: code, field: 'url' });
  expect(answer.body).not.toContain('rl_pasted');
  expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
});
