/** Search across runs: lines of every run and every worker, newest first (GET /api/search). */
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../core/errors.js';
import { searchMatch } from '../../store/rows.js';
import type { SearchCursor } from '../../store/search-order.js';
import type { HubContext } from '../context.js';
import { checkInt, intParam, labelParams, levelParam, sinceParam, textParam, type Query } from '../params.js';

export function searchRoutes(app: FastifyInstance, { store }: HubContext): void {
  app.get('/api/search', { config: { scope: 'read' } }, async (request) => {
    const query = request.query as Query;
    const until = sinceParam(query, 'until');
    const page = await store.searchLines({
      q: textParam(query, 'q'),
      since: sinceParam(query),
      until,
      before: cursorParam(query, until),
      level: levelParam(query),
      labels: labelParams(query),
      limit: intParam(query, 'limit', 1, 10_000),
    });
    return { logs: page.records.map(searchMatch), truncated: page.truncated };
  });
}

/**
 * `before=<stream>/<seq>`: the last line of the previous page, with `until` its timestamp. A
 * worker's id may hold a `/`, a seq never does: the seq is after the last one.
 */
function cursorParam(query: Query, until: number | undefined): SearchCursor | undefined {
  const text = textParam(query, 'before', 512);
  if (text === undefined) return undefined;
  const at = text.lastIndexOf('/');
  if (at < 1) throw badRequest('before', `expected <stream>/<seq> (a line's stream and seq), got ${JSON.stringify(text.slice(0, 40))}`);
  if (until === undefined) throw badRequest('before', 'needs `until`: the timestamp of the line it names');
  return { stream: text.slice(0, at), seq: checkInt(text.slice(at + 1), 'before', 1) };
}
