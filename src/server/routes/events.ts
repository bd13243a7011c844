/**
 * Live events for the UI's lists: runs as they are created, claimed and end, workers as their
 * heartbeats arrive (`/api/events`), and every worker's lines (`/api/logs/stream`). No backlog:
 * a page loads the current state with the list endpoints, then follows these. One worker's lines
 * (`?source_id=`) carry their seq as the event id, and resume from it like a run's stream
 * (Last-Event-ID, or `?after=`): a viewer that reconnects (the hub restarted) misses nothing.
 * `?level=`, `?task_id=` and `?q=` filter the worker lines as GET /api/logs does.
 */
import type { FastifyInstance } from 'fastify';
import { RUN_EVENTS, SYSTEM_LINES, systemLinesOf } from '../../pipeline/live.js';
import { badRequest } from '../../core/errors.js';
import { systemLogFromRecord } from '../../store/rows.js';
import { searchText } from '../../store/chunks/codec.js';
import { foldAscii } from '../../core/text.js';
import { workerStream } from '../../store/store.js';
import { idParam, intParam, levelParam, textParam, workerFilterParam, type Query } from '../params.js';
import { openSse, resumePoint, sendBacklog, type LineMatch } from '../sse.js';
import { WorkerGaps } from '../worker-gaps.js';
import type { HubContext } from '../context.js';

const BACKLOG_PAGE = 1000;

export function eventRoutes(app: FastifyInstance, { store, live, config }: HubContext): void {
  const gaps = new WorkerGaps(store);
  app.get('/api/events', { config: { scope: 'read' } }, async (_request, reply) => {
    const stream = openSse(reply, live, RUN_EVENTS, config);
    stream.goLive();
  });

  app.get('/api/logs/stream', { config: { scope: 'read' } }, async (request, reply) => {
    const query = request.query as Query;
    const workerId = workerFilterParam(query);
    // that level and above, as GET /api/logs: in the backlog and live
    const minLevel = levelParam(query);
    const match = lineMatch(query);
    if (workerId === undefined) {
      if (intParam(query, 'after', 0) !== undefined) throw badRequest('after', 'every worker\'s lines have no one seq to resume by: give source_id (or worker_id) too');
      // a Last-Event-ID is not ours (these events carry none): ignored
      openSse(reply, live, SYSTEM_LINES, config, { minLevel, match }).goLive();
      return;
    }
    const lines = workerStream(workerId);
    const readGap = gaps.readerFor(lines);
    // where lines can come out of order, a viewer that asks for no backlog starts at the worker's
    // last line (read before subscribing): a gap is then what it has not seen, never its history
    const resumeFrom = resumePoint(request) ?? (readGap === undefined ? undefined : await store.lastSeq(lines));
    const stream = openSse(reply, live, systemLinesOf(workerId), config, { lastSent: resumeFrom ?? 0, readGap, minLevel, match });
    try {
      // everything after the client's last id first
      const read = (after: number) => store.readLogs(lines, after, BACKLOG_PAGE);
      if (resumeFrom !== undefined && !(await sendBacklog(stream, BACKLOG_PAGE, read, (page) => stream.sendSystemLines(page.map(systemLogFromRecord))))) return;
      stream.goLive();
    } catch (error) {
      request.log.error(error, 'sse backlog failed');
      stream.close();
    }
  });
}

/**
 * `?task_id=` and `?q=`, with GET /api/logs's meaning and checks (the stream took neither, and sent
 * every line): one task's lines; lines holding the text, ASCII case folded, colour codes left out.
 */
function lineMatch(query: Query): LineMatch | undefined {
  const task = textParam(query, 'task_id');
  const taskId = task === undefined ? undefined : idParam(task, 'task_id');
  const q = textParam(query, 'q');
  const needle = q ? foldAscii(q) : undefined; // an empty q is none, as for GET /api/logs
  if (taskId === undefined && needle === undefined) return undefined;
  return (line) => (taskId === undefined || line.task_id === taskId) && (needle === undefined || searchText(line.message).includes(needle));
}
