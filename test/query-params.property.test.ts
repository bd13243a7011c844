/**
 * The read endpoints' query parameters under arbitrary values (docs/api.md): every answer is a 200
 * or a 4xx naming a parameter that was sent, never a 5xx; and an answer to valid parameters is
 * exactly the documented one, computed here from the lines seeded (query-model.ts): which lines,
 * in which order, how many, `truncated`, and pages that cover every line once. On SQLite and
 * PostgreSQL alike. Seeded and bounded: a fixed number of runs each, in-process (app.inject).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite/store.js';
import type { Store } from '../src/store/store.js';
import { describeWithPostgres, freshPostgresStore } from './postgres.js';
import { tempDir } from './helpers.js';
import {
  anyValue, BASE_US, hubOn, LEVEL_SPELLINGS, matchesQ, namesAParameter, queryString, runLines, timeParam,
  type Hub, type ModelLine,
} from './query-model.js';

const SEED = Number(process.env.RUNLOG_FUZZ_SEED ?? 27);
const LEVEL_NAMES = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];

interface WireLine { seq: number; timestamp: string; level: string; message: string; stream: string; id?: string }

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const level = fc.constantFrom(...Object.keys(LEVEL_SPELLINGS));
const q = fc.constantFrom('', 'alpha', 'BETA', 'cuda', '%', '_', 'a_b', 'red alert', '\u001b', 'line 1', 'ÜNÏ', 'nothing here');

function querySuite(name: string, openStore: (dir: string) => Promise<Store>, numRuns: number): void {
  describe(`read endpoints' query parameters (${name})`, () => {
    const dir = tempDir();
    let store: Store;
    let hub: Hub;
    const run = runLines('p', 40, { team: 'ml' });
    const other = runLines('o', 12, { team: 'vision', gpu: 'a100' }, 500_000);
    let workers: ModelLine[] = [];

    beforeAll(async () => {
      store = await openStore(dir);
      hub = await hubOn(store, dir);
      const post = async (url: string, payload: object) => {
        const answer = await hub.app.inject({ method: 'POST', url, payload });
        expect(answer.statusCode, `${url}: ${answer.body}`).toBeLessThan(300);
      };
      for (const [id, lines] of [['o', other], ['p', run]] as const) {
        await post('/api/runs', { id, name: `run ${id}`, labels: lines[0]!.labels });
        const records = lines.map((l) => ({ seq: l.seq, timestamp: l.ts, level: LEVEL_NAMES[l.level], message: l.message }));
        await post(`/api/runs/${id}/logs`, { records });
      }
      await post('/api/runs/p/finish', { status: 'completed', exit_code: 0 });
      // workers' lines, numbered by the hub 1, 2, 3 … in the order sent
      for (const id of ['w1', 'w2']) {
        const lines = runLines(`worker:${id}`, 15, {}, id === 'w1' ? 250_000 : 0).map((l, i) => ({ ...l, seq: i + 1 }));
        workers = workers.concat(lines);
        await post(`/api/workers/${id}/heartbeat`, { logs: lines.map((l) => ({ timestamp: l.ts, level: LEVEL_NAMES[l.level], message: l.message, task_id: l.seq % 2 ? 't1' : 't2' })) });
      }
    });
    afterAll(async () => {
      await hub.app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const params = { numRuns, seed: SEED };

    it('GET /api/runs/:id/logs, /api/runs, /api/logs, /api/search, the run stream: any value is a 200 or a 4xx naming a parameter', async () => {
      const paths = ['/api/runs/p/logs', '/api/runs', '/api/logs', '/api/search', '/api/runs/p/logs/stream', '/api/logs/stream?source_id=w1'];
      const keys = ['since', 'until', 'after', 'before', 'tail', 'limit', 'level', 'q', 'label', 'status', 'task_id', 'batch', 'source_id'];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), fc.dictionary(fc.constantFrom(...keys), fc.oneof(anyValue, fc.array(anyValue, { minLength: 2, maxLength: 2 })), { maxKeys: 4 }), async (path, values) => {
          // the workers' stream stays open: ask it only for what it refuses, or time out nothing
          const url = path.includes('?') ? `${path}&${queryString(values).slice(1)}` : `${path}${queryString(values)}`;
          if (path.startsWith('/api/logs/stream')) {
            const answer = await hub.app.inject({ method: 'GET', url, payloadAsStream: true });
            if (answer.statusCode === 200) {
              answer.stream().destroy();
              return;
            }
            let text = '';
            for await (const chunk of answer.stream()) text += String(chunk);
            expect(namesAParameter(answer.statusCode, JSON.parse(text), ['source_id', ...Object.keys(values)]), `${url}: ${answer.statusCode} ${text}`).toBe(true);
            return;
          }
          const { status, body } = await hub.get(url);
          expect(status === 200 || namesAParameter(status, body, Object.keys(values)), `${url}: ${status} ${JSON.stringify(body).slice(0, 300)}`).toBe(true);
        }),
        params,
      );
    }, 30_000);

    it('GET /api/runs/:id/logs answers exactly the matching lines: after, before, since, level, q, then tail (the last) or limit (the first)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            after: maybe(fc.integer({ min: 0, max: 60 })), before: maybe(fc.integer({ min: 0, max: 60 })), since: maybe(timeParam),
            level: maybe(level), q: maybe(q), end: fc.constantFrom('none', 'tail', 'limit'), n: fc.integer({ min: 0, max: 45 }),
          }),
          async (p) => {
            const url = `/api/runs/p/logs${queryString({
              after: p.after?.toString(), before: p.before?.toString(), since: p.since?.text, level: p.level, q: p.q,
              tail: p.end === 'tail' ? String(p.n) : undefined, limit: p.end === 'limit' ? String(p.n) : undefined,
            })}`;
            const matching = run.filter((l) => (p.after === undefined || l.seq > p.after) && (p.before === undefined || l.seq < p.before)
              && (p.since === undefined || l.ts >= p.since.us) && (p.level === undefined || l.level >= LEVEL_SPELLINGS[p.level]!) && matchesQ(l.message, p.q));
            const count = p.end === 'none' ? 500 : p.n;
            const expected = p.end === 'limit' ? matching.slice(0, count) : matching.slice(Math.max(0, matching.length - count));
            const { status, body } = await hub.get(url);
            expect(status, `${url}: ${JSON.stringify(body)}`).toBe(200);
            expect((body.logs as WireLine[]).map((l) => l.seq), url).toEqual(expected.map((l) => l.seq));
            expect(body.truncated, url).toBe(expected.length < matching.length);
            expect(body.total_lines).toBe(run.length);
          },
        ),
        params,
      );
    }, 30_000);

    it('the run stream sends the same lines: after (or Last-Event-ID) and level, or the last tail, each id its seq, then end', async () => {
      await fc.assert(
        fc.asyncProperty(maybe(fc.integer({ min: 0, max: 60 })), maybe(fc.integer({ min: 0, max: 45 })), maybe(level), fc.boolean(), async (after, tail, lvl, header) => {
          const url = `/api/runs/p/logs/stream${queryString({ after: header ? undefined : after?.toString(), tail: tail?.toString(), level: lvl })}`;
          const headers = header && after !== undefined ? { 'last-event-id': String(after) } : {};
          const answer = await hub.app.inject({ method: 'GET', url, headers });
          expect(answer.statusCode, url).toBe(200);
          const atLevel = run.filter((l) => lvl === undefined || l.level >= LEVEL_SPELLINGS[lvl]!);
          const expected = after !== undefined ? atLevel.filter((l) => l.seq > after) : atLevel.slice(Math.max(0, atLevel.length - (tail ?? 500)));
          const ids = [...answer.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
          expect(ids, url).toEqual(expected.map((l) => l.seq));
          expect(answer.body.startsWith('retry: 1000\n\n'), url).toBe(true);
          expect(answer.body.trimEnd().split('\n\n').at(-1)?.startsWith('event: end\n'), url).toBe(true);
        }),
        { ...params, numRuns: Math.ceil(numRuns / 2) },
      );
    }, 30_000);

    it('GET /api/runs: status, q, label and limit filter, newest first', async () => {
      await fc.assert(
        fc.asyncProperty(maybe(fc.constantFrom('running', 'completed', 'failed')), maybe(fc.constantFrom('', 'RUN P', 'o', 'team=ml', 'a100', '%', 'zzz')),
          fc.subarray(['team=ml', 'team=vision', 'gpu=a100', 'gpu=h100']), maybe(fc.integer({ min: 1, max: 3 })), async (status, text, labels, limit) => {
            const url = `/api/runs${queryString({ status, q: text, label: labels, limit: limit?.toString() })}`;
            const { status: code, body } = await hub.get(url);
            const keys = labels.map((pair) => pair.split('=')[0]);
            if (new Set(keys).size < keys.length) {
              expect(namesAParameter(code, body, ['label']), url).toBe(true);
              return;
            }
            expect(code, url).toBe(200);
            const runs = [{ id: 'p', status: 'completed', lines: run }, { id: 'o', status: 'running', lines: other }]; // p was created last
            const wanted = runs.filter((r) => (status === undefined || r.status === status)
              && labels.every((pair) => { const [k, v] = pair.split('='); return r.lines[0]!.labels[k!] === v; })
              && (text === undefined || matchesQ([r.id, `run ${r.id}`, ...Object.entries(r.lines[0]!.labels).flatMap(([k, v]) => [`${k}=${v}`])].join('\n'), text)));
            expect((body.runs as { id: string }[]).map((r) => r.id), url).toEqual(wanted.slice(0, limit ?? 100).map((r) => r.id));
          }),
        params,
      );
    }, 30_000);

    it('GET /api/logs pages through the matching worker lines with before=<id>, each once, newest first', async () => {
      await fc.assert(
        fc.asyncProperty(maybe(fc.constantFrom('w1', 'w2')), maybe(fc.constantFrom('t1', 't2')), maybe(level), maybe(q), maybe(timeParam), maybe(timeParam), fc.integer({ min: 1, max: 9 }),
          async (worker, task, lvl, text, since, until, limit) => {
            const matching = workers.filter((l) => (worker === undefined || l.stream === `worker:${worker}`) && (task === undefined || (l.seq % 2 ? 't1' : 't2') === task)
              && (lvl === undefined || l.level >= LEVEL_SPELLINGS[lvl]!) && matchesQ(l.message, text)
              && (since === undefined || l.ts >= since.us) && (until === undefined || l.ts <= until.us));
            const order = [...matching].sort((a, b) => b.ts - a.ts || (b.stream > a.stream ? 1 : b.stream < a.stream ? -1 : 0) || b.seq - a.seq);
            const got: string[] = [];
            let before: string | undefined;
            for (let page = 0; page <= order.length; page++) {
              const url = `/api/logs${queryString({ source_id: worker, task_id: task, level: lvl, q: text, since: since?.text, until: until?.text, limit: String(limit), before })}`;
              const { status, body } = await hub.get(url);
              expect(status, `${url}: ${JSON.stringify(body)}`).toBe(200);
              const rows = body.logs as WireLine[];
              expect(rows.length).toBeLessThanOrEqual(limit);
              got.push(...rows.map((r) => r.id!));
              if (rows.length < limit) break;
              before = rows.at(-1)!.id;
            }
            expect(got).toEqual(order.map((l) => `${l.stream}/${l.seq}`));
          }),
        params,
      );
    }, 30_000);

    it('GET /api/search pages through every matching line of runs and workers with until+before, each once, in the documented order', async () => {
      const all = [...run, ...other, ...workers];
      await fc.assert(
        fc.asyncProperty(maybe(level), maybe(q), maybe(timeParam), maybe(timeParam), fc.subarray(['team=ml', 'gpu=a100']), fc.integer({ min: 1, max: 25 }),
          async (lvl, text, since, until, labels, limit) => {
            const matching = all.filter((l) => (lvl === undefined || l.level >= LEVEL_SPELLINGS[lvl]!) && matchesQ(l.message, text)
              && (since === undefined || l.ts >= since.us) && (until === undefined || l.ts <= until.us)
              && labels.every((pair) => { const [k, v] = pair.split('='); return l.labels[k!] === v; }));
            const order = [...matching].sort((a, b) => b.ts - a.ts || (b.stream > a.stream ? 1 : b.stream < a.stream ? -1 : 0) || b.seq - a.seq);
            const got: string[] = [];
            let cursor: { until: string; before: string } | undefined;
            for (let page = 0; page <= order.length; page++) {
              const url = `/api/search${queryString({ level: lvl, q: text, since: since?.text, until: cursor?.until ?? until?.text, before: cursor?.before, label: labels, limit: String(limit) })}`;
              const { status, body } = await hub.get(url);
              expect(status, `${url}: ${JSON.stringify(body)}`).toBe(200);
              const rows = body.logs as WireLine[];
              got.push(...rows.map((r) => `${r.stream}/${r.seq}`));
              expect(body.truncated, url).toBe(got.length < order.length);
              if (!body.truncated) break;
              const last = rows.at(-1)!;
              cursor = { until: last.timestamp, before: `${last.stream}/${last.seq}` };
            }
            expect(got).toEqual(order.map((l) => `${l.stream}/${l.seq}`));
          }),
        params,
      );
    }, 30_000);

    it('keeps the seeded times apart from now, so no duration lands between two lines', () => {
      expect(BASE_US + 60_000_000).toBeLessThan(Date.now() * 1000);
    });
  });
}

querySuite('SQLite', async (dir) => new SqliteStore(join(dir, 'runlog.db')), 250);

describeWithPostgres('query parameters on PostgreSQL', () => {
  querySuite('PostgreSQL', freshPostgresStore, 80);
});
